import Foundation
import Testing

/// The README's administrator's runbook, line by line, as an administrator runs it: two hosts
/// (installation directories holding the tools in their Bin/), the tools started by bare name from
/// `PATH` (the installation found from the executable itself), on SQLite and on PostgreSQL with
/// the least-privilege runtime role of docs/postgresql.md, the heartbeat run with `HOME` unset as
/// under systemd. Set-up, scheduled backups copied off the primary, verification, audit, a
/// service-account password change, a failover (start the service on the new primary, stop it on
/// the old), a fail back.
///
/// To add a runbook line: add it to the README, then one `host.run(...)` here at the same place,
/// with the README's words (test-only additions: weak KDF parameters, a short lease).
@Suite(.serialized) struct RunbookTests {
    enum Backend: String, CustomTestStringConvertible, Sendable {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    /// One host of the runbook: `<root>/<name>` is its installation directory, its Bin/ holds the
    /// tools (hard links to the built ones; miisactivate the multi-call miisserver under its other
    /// name), and only that Bin/ and the system's are on `PATH`.
    struct Host {
        let name: String
        let directory: String
        let environment: [String: String]

        init(_ name: String, in root: TemporaryDirectory, environment: [String: String]) throws {
            self.name = name
            directory = root.file(name)
            self.environment = environment
            let bin = directory + "/Bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            for (tool, source) in [("keytool", "keytool"), ("miisserver", "miisserver"), ("miisactivate", "miisserver")] {
                let built = ToolRunner.productsDirectory.appendingPathComponent(source).resolvingSymlinksInPath().path
                if link(built, "\(bin)/\(tool)") != 0 { try FileManager.default.copyItem(atPath: built, toPath: "\(bin)/\(tool)") }
            }
        }

        /// `words` run as typed at this host's shell: the first word found on PATH.
        /// `unset` names variables removed first (`HOME` for what systemd runs).
        @discardableResult
        func run(_ words: [String], stdin: String? = nil, in directory: String? = nil, unset: [String] = [],
                 extra: [String: String] = [:]) throws -> ToolRunner.Result {
            var environment = environment.merging(extra) { $1 }
            environment["PATH"] = self.directory + "/Bin:/usr/bin:/bin"
            return try ToolRunner.run("/usr/bin/env", unset.flatMap { ["-u", $0] } + words, stdin: stdin,
                                      environment: environment, currentDirectory: directory ?? "/")
        }
    }

    static let account = DeploymentFixture.account
    static let weak = DeploymentFixture.weakKDF

    @Test(arguments: [Backend.sqlite, .postgres])
    func runbookFromSetupToFailback(backend: Backend) throws {
        let root = try TemporaryDirectory("miis-runbook")
        // The database: a SQLite file, or a fresh PostgreSQL database set up by its owner role and
        // then run through the runtime role (docs/postgresql.md).
        let owner: String, environment: [String: String]
        switch backend {
        case .sqlite:
            owner = root.file("shared.db")
            environment = [:]
        case .postgres:
            guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
            owner = database.url
            environment = database.environment
        }
        let sync1 = try Host("sync1", in: root, environment: environment)
        let sync2 = try Host("sync2", in: root, environment: environment)
        let passwordFile = root.file("miis.pw")
        try (DeploymentFixture.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)

        // Set up a primary and a standby (a 2 s lease, for the test's failover).
        let primary = try sync1.run(["miisserver", "setup", "--name", "sync1", "--role", "primary", "--database", owner, "--account", Self.account,
                                     "--admin-group", "root", "--password-file", passwordFile, "--lease", "2"] + Self.weak)
        #expect(primary.status == 0, "\(primary.stderr)")
        let standby = try sync2.run(["miisserver", "setup", "--name", "sync2", "--role", "standby", "--database", owner, "--account", Self.account,
                                     "--admin-group", "root"])
        #expect(standby.status == 0, "\(standby.stderr)")
        var pgpass: String?
        var runtimeURL: String?
        if backend == .postgres {
            let url = try #require(try PostgresMembershipTests.runtimeURL(for: .init(url: owner, environment: environment)))
            runtimeURL = url
            for host in [sync1, sync2] {
                let repair = try host.run(["miisserver", "repair", "--database", url])
                #expect(repair.status == 0, "\(host.name): \(repair.stderr)")
            }
            pgpass = try PostgresCredentialTests.pgpass(environment["PGPASSWORD"] ?? "", mode: 0o400, in: root)
        }
        // systemctl enable --now miis-sync.service miis-heartbeat.timer (on sync1): the service's
        // ExecStartPre= is `miisserver check`, the timer's unit `miisserver heartbeat`, with HOME
        // unset and the database password from PGPASSFILE.
        #expect(try sync1.run(["miisserver", "check"]).status == 0)
        let heartbeat = try sync1.run(["miisserver", "heartbeat"], unset: ["HOME", "PGPASSWORD"],
                                      extra: pgpass.map { ["PGPASSFILE": $0] } ?? [:])
        #expect(heartbeat.status == 0 && heartbeat.stdout.isEmpty, "\(heartbeat.stderr)")

        // Scheduled key backups: `cd /var/backups/miis && miisserver backup --password-file /root/miis.pw`.
        let backups = root.file("sync1-backups")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        for expected in ["miiskeys-1.bin", "miiskeys-2.bin"] {
            let backup = try sync1.run(["miisserver", "backup", "--password-file", passwordFile] + Self.weak, in: backups)
            #expect(backup.status == 0, "\(backup.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(backups)/\(expected)"))
        }

        // Copy every backup off the primary (the README's rsync from sync2; here the same copy
        // between the two hosts' folders), and verify them where they landed.
        let copies = root.file("sync2-backups")
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        func copyOff() throws {
            let copy = try sync2.run(["cp", "-p", "-r", backups + "/.", copies + "/"])
            #expect(copy.status == 0, "\(copy.stderr)")
        }
        try copyOff()

        // Nightly verification, without and with the password.
        let integrity = try sync2.run(["keytool", "verify", "--recursive", copies, "--allow-weak-kdf"])
        #expect(integrity.status == 0, "\(integrity.stderr)")
        let authenticated = try sync2.run(["keytool", "verify", "--recursive", copies, "--account", Self.account,
                                           "--password-file", passwordFile, "--allow-weak-kdf"])
        #expect(authenticated.status == 0, "\(authenticated.stderr)")

        // Auditing without the password: the deliberately weak test KDF is a high finding (exit 40).
        let audit = try sync2.run(["keytool", "audit", copies, "--max-age", "30", "--fail-on", "medium", "--json"])
        #expect(audit.status == 40)
        #expect(audit.stdout.contains("kdf.below-floor"))

        // After a service-account password change: re-protect the installed key set, back up again.
        let newPassword = root.file("new.pw")
        try "a new service password ✓\n".write(toFile: newPassword, atomically: true, encoding: .utf8)
        chmod(newPassword, 0o600)
        let passwd = try sync1.run(["keytool", "passwd", sync1.directory + "/keys/keyset.bin", "--account", Self.account,
                                    "--password-file", passwordFile, "--new-password-file", newPassword, "--keep-kdf", "--allow-weak-kdf"])
        #expect(passwd.status == 0, "\(passwd.stderr)")
        let fresh = try sync1.run(["miisserver", "backup", "--password-file", newPassword] + Self.weak, in: backups)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        try copyOff()
        let latest = "\(copies)/miiskeys-3.bin"

        // Failover: sync1 is lost (no heartbeat for longer than the lease); on sync2 status, redirect
        // password sync, dry run, activate with the copied backup, check, history.
        Thread.sleep(forTimeInterval: 2.5)
        let status = try sync2.run(["miisserver", "status"])
        #expect(status.status == 0, "\(status.stderr)")
        // On PostgreSQL every command since the repair ran as the runtime role.
        #expect(status.stdout.contains("miis_rt_") == (backend == .postgres), "\(status.stdout)")
        #expect(try sync2.run(["miisserver", "password-sync", "--enable", "--target", "sync2"]).status == 0)
        let newSecret = "a new service password ✓\n"
        // "Which backup?": the folder; the newest file, sealed with the new password, is chosen.
        let dryRun = try sync2.run(["miisactivate", copies, Self.account, "*", "--dry-run", "/q", "--allow-weak-kdf"], stdin: newSecret)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.split(separator: "\n").contains { $0.hasPrefix("  chosen ") && $0.contains(latest) }, "\(dryRun.stdout)")
        let failover = try sync2.run(["miisactivate", latest, Self.account, "*", "/q", "--allow-weak-kdf"], stdin: newSecret)
        #expect(failover.status == 0, "\(failover.stderr)")
        #expect(try sync2.run(["miisserver", "check"]).status == 0)
        #expect(try sync2.run(["miisserver", "history"]).stdout.contains("activated"))
        // Start the service on the new primary (its ExecStartPre= check passed above, its heartbeat
        // works without HOME); on the old primary the service refuses to start and its heartbeat
        // fails fenced (exit 28), which stops it.
        let newHeartbeat = try sync2.run(["miisserver", "heartbeat"], unset: ["HOME", "PGPASSWORD"], extra: pgpass.map { ["PGPASSFILE": $0] } ?? [:])
        #expect(newHeartbeat.status == 0, "\(newHeartbeat.stderr)")
        #expect(try sync1.run(["miisserver", "check"]).status == 28)
        #expect(try sync1.run(["miisserver", "heartbeat"], unset: ["HOME", "PGPASSWORD"], extra: pgpass.map { ["PGPASSFILE": $0] } ?? [:]).status == 28)

        // After a suspected key compromise: rotate, then back up; disable and purge the old key; the
        // key set's history. On PostgreSQL a key-set change runs with the owner's URL
        // (docs/postgresql.md): sync2 is switched to it for the change, then back to the runtime role.
        // (Abandoning a lost key set is exercised by KeyLifecycleTests.)
        if runtimeURL != nil { #expect(try sync2.run(["miisserver", "repair", "--database", owner]).status == 0) }
        let keyArguments = ["--password-file", newPassword, "--allow-weak-kdf"]
        let rotate = try sync2.run(["miisserver", "keys", "rotate"] + keyArguments)
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stderr.contains("take a new backup now"))
        let afterRotation = try sync2.run(["miisserver", "backup", "--password-file", newPassword] + Self.weak, in: copies)
        #expect(afterRotation.status == 0, "\(afterRotation.stderr)")
        #expect(try sync2.run(["miisserver", "keys", "list"]).stdout.contains("2   active   yes"))
        #expect(try sync2.run(["miisserver", "keys", "disable", "1"] + keyArguments).status == 0)
        #expect(try sync2.run(["miisserver", "keys", "purge"] + keyArguments).status == 0)
        if let runtimeURL { #expect(try sync2.run(["miisserver", "repair", "--database", runtimeURL]).status == 0) }
        #expect(try sync2.run(["miisserver", "history", "--keys"]).stdout.contains("generation 4  purge"))

        // Fail back: a backup on sync2, password sync to sync1, miisactivate on sync1 (sync2 is
        // alive: the planned switch is forced, with its reason logged).
        let failbackKeys = root.file("failback.bin")
        let backupOnSync2 = try sync2.run(["miisserver", "backup", "-o", failbackKeys, "--password-file", newPassword] + Self.weak)
        #expect(backupOnSync2.status == 0, "\(backupOnSync2.stderr)")
        #expect(try sync1.run(["miisserver", "password-sync", "--enable", "--target", "sync1"]).status == 0)
        // The pre-rotation backup is stale now (miisactivate names both generations).
        let stale = try sync1.run(["miisactivate", latest, Self.account, "*", "--dry-run", "/q", "--allow-weak-kdf"], stdin: newSecret)
        #expect(stale.status == 25, "\(stale.stderr)")
        #expect(stale.stderr.contains("is generation 1 but the deployment needs generation 4"), "\(stale.stderr)")
        let failback = try sync1.run(["miisactivate", failbackKeys, Self.account, "*", "--force", "--reason", "planned fail back", "/q", "--allow-weak-kdf"],
                                     stdin: newSecret)
        #expect(failback.status == 0, "\(failback.stderr)")
        #expect(try sync1.run(["miisserver", "check"]).status == 0)
        #expect(try sync2.run(["miisserver", "check"]).status == 28)
    }

    /// "Applying a service pack: upgrade the primary, then each standby", as the runbook says it,
    /// on a deployment installed by release 1.1 (the debug binaries told to be it).
    @Test func runbookServicePack() throws {
        let deployment = try DeploymentFixture(standbys: ["sync2", "sync3"], release: "1.1.0")
        let plan = try deployment.miisserver("sync1", ["upgrade", "--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("sync2 (1.1.0), sync3 (1.1.0)"), "\(plan.stdout)")
        #expect(try deployment.miisserver("sync1", ["upgrade"]).status == 0)
        for standby in ["sync2", "sync3"] {
            #expect(try deployment.miisserver(standby, ["check"]).status == 23)
            let upgrade = try deployment.miisserver(standby, ["upgrade"])
            #expect(upgrade.status == 0, "\(upgrade.stderr)")
        }
        let status = try deployment.miisserver("sync2", ["status", "--json"])
        #expect(status.status == 0)
        #expect(!status.stdout.contains("\"schemaMatches\" : false"), "\(status.stdout)")
    }
}
