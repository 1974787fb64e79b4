import Deployment
import Foundation
import KeyFile
import Testing

/// A deployment laid out in a temporary directory: one SQLite database, installations under it.
final class DeploymentSandbox: @unchecked Sendable {  // immutable after init
    let root: TemporaryDirectory
    var database: String { root.file("deployment.sqlite") }
    var passwordFile: String { root.file("password") }
    static let password = "Sync-Passw0rd-é"
    static let weak = ["--allow-weak-kdf", "--scrypt-log-n", "10"]

    init() throws {
        root = try TemporaryDirectory("miisserver-e2e")
        try (Self.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        // As the runbook keeps it: a readable password file is warned about.
        chmod(passwordFile, 0o600)
    }

    func install(_ name: String) -> String { root.file(name) }

    @discardableResult
    func miis(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> ToolRunner.Result {
        try ToolRunner.run("miisserver", arguments, stdin: stdin, environment: environment, currentDirectory: root.path)
    }

    @discardableResult
    func setupPrimary(_ name: String = "alpha", extra: [String] = [], release: String? = nil) throws -> ToolRunner.Result {
        try miis(["setup", "--install-dir", install(name), "--name", name, "--database", database, "--role", "primary",
                  "--account", "CORP\\svc", "--password-file", passwordFile] + Self.weak + extra,
                 environment: DeploymentFixture.olderRelease(release))
    }

    /// `release`: set up by an older release's binary (``DeploymentFixture/olderRelease(_:)``).
    @discardableResult
    func setupStandby(_ name: String, extra: [String] = [], release: String? = nil) throws -> ToolRunner.Result {
        try miis(["setup", "--install-dir", install(name), "--name", name, "--database", database, "--role", "standby",
                  "--account", "CORP\\svc"] + extra, environment: DeploymentFixture.olderRelease(release))
    }

    func statusJSON(_ name: String) throws -> [String: Any] {
        let result = try miis(["status", "--install-dir", install(name), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func state(_ name: String) throws -> String? {
        (try statusJSON(name)["installation"] as? [String: Any])?["state"] as? String
    }

    func store() throws -> SQLiteDeploymentStore { try SQLiteDeploymentStore(path: database) }

    /// What `miisactivate` will do, done through the library: activate `name` and install the keys.
    func takeOver(_ name: String, from primary: String = "alpha") async throws {
        let source = try ServerInstallation(directory: install(primary))
        let password = try Password(Self.password)
        let file = try source.openInstalledKeySet(password: password, policy: .allowWeak)
        let target = try ServerInstallation(directory: install(name))
        let store = try store()
        try await DeploymentKeyCheck.verifyKeySet(file.keySet, against: store)
        let current = try #require(try await store.deployment())
        try target.installKeySet(file, credentials: Credentials(account: target.configuration.serviceAccount, password: password), replace: true)
        let state = try await store.activate(ActivationRequest(server: name, expectedEpoch: current.epoch, keySetID: file.keySet.id, osUser: "root", detail: "test takeover", forceReason: "test takeover"))
        try target.recordActivation(epoch: state.epoch, keySetID: state.keySetID, at: state.activatedAt)
    }
}

/// A failure must be one line on stderr, prefixed with the tool's name, with the documented code.
func expectFailure(_ result: ToolRunner.Result, _ code: Int32, _ fragment: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status == code, "exit \(result.status), stderr: \(result.stderr)", sourceLocation: sourceLocation)
    let lines = result.stderr.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(result.stderr)", sourceLocation: sourceLocation)
    #expect(result.stderr.hasPrefix("miisserver: "), sourceLocation: sourceLocation)
    if let fragment { #expect(result.stderr.contains(fragment), "stderr: \(result.stderr)", sourceLocation: sourceLocation) }
}

@Suite("miisserver end to end")
struct MiisserverEndToEndTests {
    @Test func primaryAndTwoStandbysShareOneDatabase() throws {
        let sandbox = try DeploymentSandbox()
        let primary = try sandbox.setupPrimary()
        #expect(primary.status == 0, "\(primary.stderr)")
        #expect(primary.stdout.contains("primary at epoch 1"))
        #expect(try sandbox.setupStandby("beta").status == 0)
        #expect(try sandbox.setupStandby("gamma").status == 0)

        let alpha = try sandbox.statusJSON("alpha")
        #expect(alpha["schemaVersion"] as? Int == 1)
        let installation = try #require(alpha["installation"] as? [String: Any])
        #expect(installation["state"] as? String == "active")
        #expect(installation["keysInstalled"] as? Bool == true)
        #expect(installation["activatedEpoch"] as? Int == 1)
        let deployment = try #require(alpha["deployment"] as? [String: Any])
        #expect(deployment["activeServer"] as? String == "alpha")
        #expect(deployment["epoch"] as? Int == 1)
        #expect((deployment["keySetFingerprint"] as? String)?.count == 64)
        let servers = try #require(alpha["servers"] as? [[String: Any]])
        #expect(servers.map { $0["name"] as? String } == ["alpha", "beta", "gamma"])
        #expect(servers.map { $0["role"] as? String } == ["primary", "standby", "standby"])
        #expect((alpha["database"] as? [String: Any])?["schemaVersion"] as? Int == SchemaCatalog.current)

        #expect(try sandbox.state("beta") == "standby")
        #expect(try sandbox.state("gamma") == "standby")
        let text = try sandbox.miis(["status", "--install-dir", sandbox.install("beta")])
        #expect(text.status == 0)
        #expect(text.stdout.contains("STANDBY"))
        #expect(text.stdout.contains("Active server:   alpha at epoch 1"))
        // Installation layout and modes.
        var info = stat()
        #expect(stat(sandbox.install("alpha") + "/keys/keyset.bin", &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(stat(sandbox.install("alpha") + "/keys", &info) == 0 && info.st_mode & 0o777 == 0o700)
        #expect(!FileManager.default.fileExists(atPath: sandbox.install("beta") + "/keys/keyset.bin"))
        // A password never shows.
        for result in [primary, text] { #expect(!result.allOutput.contains(DeploymentSandbox.password)) }
    }

    @Test func installationIsFoundFromBinOrEnvironment() throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary()
        let copy = sandbox.install("alpha") + "/Bin/miisserver"
        try FileManager.default.copyItem(atPath: ToolRunner.path(of: "miisserver"), toPath: copy)
        let fromBin = try ToolRunner.run(copy, ["check"])
        #expect(fromBin.status == 0, "\(fromBin.stderr)")
        let fromEnvironment = try sandbox.miis(["check"], environment: ["MIIS_INSTALL_DIR": sandbox.install("alpha")])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        expectFailure(try sandbox.miis(["status"]), 21, "cannot find the server installation")
        expectFailure(try sandbox.miis(["status", "--install-dir", sandbox.root.file("nowhere")]), 21, "no such installation directory")
        try FileManager.default.createDirectory(atPath: sandbox.root.file("empty"), withIntermediateDirectories: true)
        expectFailure(try sandbox.miis(["heartbeat", "--install-dir", sandbox.root.file("empty")]), 21)
    }

    @Test func secretsRoundTripThroughTheKeySetAndNeverShow() async throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary()
        try sandbox.setupStandby("beta")
        let value = "connector-secret-\(UUID().uuidString)"
        let set = try sandbox.miis(["secret", "set", "crm/bind", "--install-dir", sandbox.install("alpha"),
                                    "--password-file", sandbox.passwordFile, "--allow-weak-kdf"], stdin: value + "\n")
        #expect(set.status == 0, "\(set.stderr)")
        let list = try sandbox.miis(["secret", "list", "--install-dir", sandbox.install("beta"), "--json"])
        #expect(list.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 1)
        let entries = try #require(json["secrets"] as? [[String: Any]])
        #expect(entries.count == 1 && entries[0]["name"] as? String == "crm/bind" && entries[0]["keyID"] as? Int == 1)
        let plain = try sandbox.miis(["secret", "list", "--install-dir", sandbox.install("alpha")])
        #expect(plain.stdout.contains("crm/bind"))

        // The value decrypts with the installed key set (and the trailing newline was dropped).
        let installation = try ServerInstallation(directory: sandbox.install("alpha"))
        let keySet = try installation.openInstalledKeySet(password: try Password(DeploymentSandbox.password), policy: .allowWeak).keySet
        let stored = try #require(try await sandbox.store().secrets().first)
        let decrypted = try SecretCipher.open(stored, keySet: keySet)
        #expect(decrypted.unsafeCopyToArray() == Array(value.utf8))

        // Wrong password, a standby without keys, a bad name: clear failures.
        let wrong = root(sandbox, "wrong-password")
        try "nope\n".write(toFile: wrong, atomically: true, encoding: .utf8)
        chmod(wrong, 0o600)
        let wrongResult = try sandbox.miis(["secret", "set", "x", "--install-dir", sandbox.install("alpha"), "--password-file", wrong, "--allow-weak-kdf"], stdin: value)
        expectFailure(wrongResult, 11, "wrong password or account")
        let standby = try sandbox.miis(["secret", "set", "x", "--install-dir", sandbox.install("beta"), "--password-file", sandbox.passwordFile], stdin: value)
        expectFailure(standby, 28, "never activated")
        let badName = try sandbox.miis(["secret", "set", "bad name", "--install-dir", sandbox.install("alpha"), "--password-file", sandbox.passwordFile], stdin: value)
        expectFailure(badName, 30, "invalid secret name")

        // The value appears nowhere: outputs, the database file, the installation.
        for result in [set, list, plain, wrongResult, standby, badName] {
            #expect(!result.allOutput.contains(value))
            #expect(!result.allOutput.contains(DeploymentSandbox.password))
        }
        for file in [sandbox.database, sandbox.database + "-wal", sandbox.install("alpha") + "/server.json"] {
            if let bytes = FileManager.default.contents(atPath: file) {
                #expect(bytes.range(of: Data(value.utf8)) == nil, "\(file) holds the secret")
            }
        }
    }

    @Test func fencingAfterAnotherServerTookOver() async throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary()
        try sandbox.setupStandby("beta")
        #expect(try sandbox.miis(["heartbeat", "--install-dir", sandbox.install("alpha")]).status == 0)
        #expect(try sandbox.miis(["check", "--install-dir", sandbox.install("alpha")]).status == 0)
        expectFailure(try sandbox.miis(["heartbeat", "--install-dir", sandbox.install("beta")]), 28, "not the active server")
        expectFailure(try sandbox.miis(["check", "--install-dir", sandbox.install("beta")]), 28, "standby")

        try await sandbox.takeOver("beta")
        #expect(try sandbox.state("alpha") == "fenced")
        #expect(try sandbox.state("beta") == "active")
        expectFailure(try sandbox.miis(["heartbeat", "--install-dir", sandbox.install("alpha")]), 28, "fenced")
        expectFailure(try sandbox.miis(["check", "--install-dir", sandbox.install("alpha")]), 28, "fenced")
        #expect(try sandbox.miis(["heartbeat", "--install-dir", sandbox.install("beta")]).status == 0)
        #expect(try sandbox.miis(["check", "--install-dir", sandbox.install("beta")]).status == 0)
        let text = try sandbox.miis(["status", "--install-dir", sandbox.install("alpha")])
        #expect(text.stdout.contains("FENCED"))

        let history = try sandbox.miis(["history", "--install-dir", sandbox.install("alpha"), "--json"])
        #expect(history.status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 1)
        // Activations and refusals; the administrative `changed` rows (registrations, setup) aside.
        let entries = try #require(json["entries"] as? [[String: Any]]).filter { $0["outcome"] as? String != "changed" }
        #expect(entries.count == 1)
        #expect(entries.first?["server"] as? String == "beta")
        #expect(entries.first?["previousServer"] as? String == "alpha")
        #expect(entries.first?["epoch"] as? Int == 2)
        #expect(entries.first?["outcome"] as? String == "activated")
        let plain = try sandbox.miis(["history", "--install-dir", sandbox.install("beta")])
        #expect(plain.stdout.contains("activated  beta  epoch 2  from alpha"))
    }

    @Test func passwordSyncTarget() throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary()
        try sandbox.setupStandby("beta")
        let enable = try sandbox.miis(["password-sync", "--install-dir", sandbox.install("alpha"), "--enable", "--target", "beta"])
        #expect(enable.status == 0, "\(enable.stderr)")
        let deployment = try #require(try sandbox.statusJSON("beta")["deployment"] as? [String: Any])
        let sync = try #require(deployment["passwordSync"] as? [String: Any])
        #expect(sync["enabled"] as? Bool == true && sync["target"] as? String == "beta")
        expectFailure(try sandbox.miis(["password-sync", "--install-dir", sandbox.install("alpha"), "--enable", "--target", "nobody"]), 30, "not a registered server")
        #expect(try sandbox.miis(["password-sync", "--install-dir", sandbox.install("alpha"), "--disable"]).status == 0)
        let after = try #require(try sandbox.statusJSON("alpha")["deployment"] as? [String: Any])
        #expect((after["passwordSync"] as? [String: Any])?["enabled"] as? Bool == false)
        let neither = try sandbox.miis(["password-sync", "--install-dir", sandbox.install("alpha")])
        #expect(neither.status == 64)
        #expect(neither.stderr == "miisserver: use exactly one of --enable or --disable\n", "\(neither.stderr)")
    }

    @Test func repairModeChangesAdminGroupAndAccount() throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary(extra: ["--admin-group", "root"])
        let before = try #require(try sandbox.statusJSON("alpha")["installation"] as? [String: Any])
        #expect(before["adminGroupScope"] as? String == "local")
        let group = try sandbox.miis(["repair", "--install-dir", sandbox.install("alpha"), "--admin-group", "no-such-group-e2e"])
        #expect(group.status == 0, "\(group.stderr)")
        #expect(group.stderr.contains("does not exist"))
        let after = try #require(try sandbox.statusJSON("alpha")["installation"] as? [String: Any])
        #expect(after["adminGroup"] as? String == "no-such-group-e2e")
        #expect(after["adminGroupScope"] as? String == "missing")

        let newPassword = sandbox.root.file("new-password")
        try "Another-Passw0rd\n".write(toFile: newPassword, atomically: true, encoding: .utf8)
        let account = try sandbox.miis(["repair", "--install-dir", sandbox.install("alpha"), "--account", "CORP\\svc2",
                                        "--password-file", sandbox.passwordFile, "--new-password-file", newPassword, "--allow-weak-kdf"])
        #expect(account.status == 0, "\(account.stderr)")
        let installation = try #require(try sandbox.statusJSON("alpha")["installation"] as? [String: Any])
        #expect(installation["serviceAccount"] as? String == "corp\\svc2")
        // The keys survived the account change: they open with the new credentials only.
        let set = try sandbox.miis(["secret", "set", "s", "--install-dir", sandbox.install("alpha"), "--password-file", newPassword, "--allow-weak-kdf"], stdin: "v")
        #expect(set.status == 0, "\(set.stderr)")
        let old = try sandbox.miis(["secret", "set", "s", "--install-dir", sandbox.install("alpha"), "--password-file", sandbox.passwordFile, "--allow-weak-kdf"], stdin: "v")
        expectFailure(old, 11, "wrong password or account")
        #expect(try sandbox.state("alpha") == "active")
        // Nothing to repair: a usage error (ArgumentParser's 64).
        // One `TOOL: message` line, like every other error.
        let nothing = try sandbox.miis(["repair", "--install-dir", sandbox.install("alpha")])
        #expect(nothing.status == 64)
        #expect(nothing.stderr == "miisserver: repair needs --admin-group NAME, --account A or --database LOCATION\n", "\(nothing.stderr)")
        // The software version is the binary's: the old free string is refused, not taken for the tool's --version.
        let version = try sandbox.miis(["repair", "--install-dir", sandbox.install("alpha"), "--version", "1.0.0"])
        #expect(version.status == 64)
        #expect(version.stderr == "miisserver: --version is gone: repair records this binary's software version (\(SchemaCatalog.currentSoftwareVersion)); after installing a new release run miisserver upgrade\n", "\(version.stderr)")
    }

    @Test func concurrentWritersNeverCorruptTheDatabase() async throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary()
        for name in ["beta", "gamma"] { try sandbox.setupStandby(name) }
        var jobs: [[String]] = []
        for index in 0..<8 {
            jobs.append(["secret", "set", "secret-\(index)", "--install-dir", sandbox.install("alpha"),
                         "--password-file", sandbox.passwordFile, "--allow-weak-kdf"])
            jobs.append(["heartbeat", "--install-dir", sandbox.install("alpha")])
            jobs.append(["status", "--install-dir", sandbox.install(index % 2 == 0 ? "beta" : "gamma"), "--json"])
        }
        // One thread per process, all started at once (not limited by the test's task pool).
        let results = runConcurrently(jobs.enumerated().map { index, arguments in
            { try sandbox.miis(arguments, stdin: "value-\(index)") }
        })
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        let store = try sandbox.store()
        #expect(try await store.integrityCheck() == "ok")
        #expect(try await store.secrets().count == 8)
        #expect(try await store.journalMode() == "wal")
    }

    @Test func errorPathsHaveOneLineAndTheirExitCode() async throws {
        let sandbox = try DeploymentSandbox()
        // A standby before any primary: no database.
        expectFailure(try sandbox.setupStandby("early"), 29, "no such database file")
        try sandbox.setupPrimary()
        try sandbox.setupStandby("beta")
        // Second primary.
        let second = try sandbox.setupPrimary("delta")
        expectFailure(second, 30, "already has a primary")
        #expect(!FileManager.default.fileExists(atPath: sandbox.install("delta") + "/server.json"))
        // Setting up the same installation twice.
        expectFailure(try sandbox.setupStandby("beta"), 21, "already set up")
        // The software version is the binary's: setup has no option for it (issue 18).
        expectFailure(try sandbox.setupStandby("eps", extra: ["--version", "9.9.9"]), 64,
                      "--version is gone: setup records this binary's software version (\(SchemaCatalog.currentSoftwareVersion)); after installing a new release run miisserver upgrade")
        // Unknown server: registered nowhere any more.
        try await sandbox.store().executeRawSQL("DELETE FROM servers WHERE name = 'beta'")
        expectFailure(try sandbox.miis(["heartbeat", "--install-dir", sandbox.install("beta")]), 22, "not registered")
        expectFailure(try sandbox.miis(["check", "--install-dir", sandbox.install("beta")]), 22, "not registered")
        #expect(try sandbox.state("beta") == "unregistered")
        // A schema newer than this software.
        try await sandbox.store().executeRawSQL("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        expectFailure(try sandbox.miis(["status", "--install-dir", sandbox.install("alpha")]), 23, "schema 99")
        try await sandbox.store().executeRawSQL("UPDATE meta SET value = '\(SchemaCatalog.current)' WHERE key = 'schema_version'")
        // A foreign database and a non-database file in place of the deployment's.
        let saved = sandbox.database + ".saved"
        try FileManager.default.moveItem(atPath: sandbox.database, toPath: saved)
        try? FileManager.default.removeItem(atPath: sandbox.database + "-wal")
        try? FileManager.default.removeItem(atPath: sandbox.database + "-shm")
        expectFailure(try sandbox.miis(["status", "--install-dir", sandbox.install("alpha")]), 29, "no such database file")
        try Data(String(repeating: "not a database at all\n", count: 100).utf8).write(to: URL(fileURLWithPath: sandbox.database))
        expectFailure(try sandbox.miis(["status", "--install-dir", sandbox.install("alpha")]), 29, "not a SQLite database")
        try FileManager.default.removeItem(atPath: sandbox.database)
        let foreign = try SQLiteDeploymentStore(path: sandbox.database, create: true)
        try await foreign.executeRawSQL("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        try await foreign.close()
        expectFailure(try sandbox.miis(["status", "--install-dir", sandbox.install("alpha")]), 29, "not a MIIS deployment database")
        expectFailure(try sandbox.miis(["secret", "list", "--install-dir", sandbox.install("alpha")]), 29, "not a MIIS deployment database")
        // A corrupt server.json.
        try "{ not json".write(toFile: sandbox.install("beta") + "/server.json", atomically: true, encoding: .utf8)
        expectFailure(try sandbox.miis(["status", "--install-dir", sandbox.install("beta")]), 21, "invalid server configuration")
        // A PostgreSQL server that is down: a clear one-line error, quickly.
        let pg = try sandbox.miis(["setup", "--install-dir", sandbox.install("pg"), "--name", "pg", "--database", "postgresql://miis@127.0.0.1:1/miis",
                                   "--role", "standby", "--account", "svc"])
        expectFailure(pg, 29, "cannot connect to PostgreSQL at 127.0.0.1:1/miis")
    }

    @Test func twoPrimariesSetUpAtOnceHaveExactlyOneWinner() async throws {
        let sandbox = try DeploymentSandbox()
        let names = ["p1", "p2", "p3", "p4"]
        let results = runConcurrently(names.map { name in { try sandbox.setupPrimary(name) } })
        #expect(results.filter { $0.status == 0 }.count == 1, "\(results.map(\.stderr))")
        for result in results where result.status != 0 { expectFailure(result, 30) }
        let store = try sandbox.store()
        let deployment = try #require(try await store.deployment())
        #expect(deployment.epoch == 1)
        #expect(try await store.integrityCheck() == "ok")
        let winner = try #require(zip(names, results).first { $0.1.status == 0 }?.0)
        #expect(deployment.activeServer == winner)
        // The losers left no registration behind.
        #expect(try await store.servers().map(\.name) == [winner])
        for name in names where name != winner {
            #expect(!FileManager.default.fileExists(atPath: sandbox.install(name) + "/keys/keyset.bin"))
        }
    }

    @Test func schemaMismatchOfAnUnupdatedStandbyIsReported() throws {
        let sandbox = try DeploymentSandbox()
        // A release-1.0 deployment; the primary gets the service pack, the standby does not.
        #expect(try sandbox.setupPrimary(release: "1.0.0").status == 0)
        #expect(try sandbox.setupStandby("old", release: "1.0.0").status == 0)
        #expect(try sandbox.miis(["upgrade", "--install-dir", sandbox.install("alpha")]).status == 0)
        let database = try #require(try sandbox.statusJSON("old")["database"] as? [String: Any])
        #expect(database["schemaMatches"] as? Bool == false)
        #expect(database["softwareSchemaVersion"] as? Int == 1)
        // The remedy: update the standby (its new binaries, then upgrade).
        #expect(try sandbox.miis(["upgrade", "--install-dir", sandbox.install("old")]).status == 0)
        let fixed = try #require(try sandbox.statusJSON("old")["database"] as? [String: Any])
        #expect(fixed["schemaMatches"] as? Bool == true)
    }

    @Test func primaryAtRelease10CreatesSchema1() throws {
        let sandbox = try DeploymentSandbox()
        #expect(try sandbox.setupPrimary(release: "1.0.0").status == 0)
        let database = try #require(try sandbox.statusJSON("alpha")["database"] as? [String: Any])
        #expect(database["schemaVersion"] as? Int == 1)
        #expect(database["schemaMatches"] as? Bool == true)
        let standby = try sandbox.setupStandby("new")
        #expect(standby.status == 0)
        #expect(standby.stderr.contains("0x80230443"))
        // Newer than the database: the primary's upgrade comes first.
        #expect(standby.stderr.hasSuffix("; run miisserver upgrade on the active server alpha first, then on this server\n"), "\(standby.stderr)")
        let status = try sandbox.miis(["status", "--install-dir", sandbox.install("new")])
        #expect(status.stderr.hasSuffix("; run miisserver upgrade on the active server alpha first, then on this server\n"), "\(status.stderr)")
    }
}

func root(_ sandbox: DeploymentSandbox, _ name: String) -> String { sandbox.root.file(name) }


/// Runs every job on its own thread at the same time and returns their results in order.
func runConcurrently(_ jobs: [@Sendable () throws -> ToolRunner.Result]) -> [ToolRunner.Result] {
    final class Slots: @unchecked Sendable {
        let lock = NSLock()
        var results: [ToolRunner.Result?]
        init(_ count: Int) { results = Array(repeating: nil, count: count) }
    }
    let slots = Slots(jobs.count)
    let group = DispatchGroup()
    for (index, job) in jobs.enumerated() {
        group.enter()
        Thread {
            let result = (try? job()) ?? ToolRunner.Result(status: -1, stdout: "", stderr: "could not run")
            slots.lock.lock()
            slots.results[index] = result
            slots.lock.unlock()
            group.leave()
        }.start()
    }
    group.wait()
    return slots.results.map { $0! }
}
