import Deployment
import Foundation
import KeyFile
import Testing

/// Every command that writes is killed with SIGKILL (a) at each named fault point and (b) after a
/// spread of delays; afterwards the key file or database holds the old content or the new one,
/// never a mix, and re-running the command converges. KDF parameters are weak to stay fast.
@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    static let account = "CORP\\svc-sync"
    static let password = "crash-Pässword-1"
    static let newPassword = "crash-Pässword-2"
    static let weak = ["--allow-weak-kdf", "--scrypt-log-n", "10"]
    static let delayCount = 12

    final class Workspace: @unchecked Sendable {
        let root: TemporaryDirectory
        let passwordFile: String
        let newPasswordFile: String
        init() throws {
            root = try TemporaryDirectory("miis-crash")
            passwordFile = root.file("pw")
            newPasswordFile = root.file("pw-new")
            try (CrashSafetyTests.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
            chmod(passwordFile, 0o600)
            try (CrashSafetyTests.newPassword + "\n").write(toFile: newPasswordFile, atomically: true, encoding: .utf8)
            try FileManager.default.createDirectory(atPath: root.file("keys"), withIntermediateDirectories: true)
        }
        /// Key files go to `keys/`, apart from the password files, so that `keytool verify` can check the folder.
        func key(_ name: String) -> String { root.file("keys/\(name)") }
        var keys: String { root.file("keys") }
    }

    /// Named fault points, plus `name@N` for the first `hits` occurrences of the repeated ones.
    static func faultPoints(_ names: [String], repeated: [String] = [], hits: Int = 4) -> [String] {
        names + repeated.flatMap { name in (1...hits).map { "\(name)@\($0)" } }
    }

    // MARK: - keytool create

    @Test func keytoolCreate() throws {
        let ws = try Workspace()
        var iteration = 0
        func check(_ kill: (String) throws -> CrashHarness.Outcome) throws -> Bool {
            iteration += 1
            let output = ws.key("new-\(iteration).key")
            let outcome = try kill(output)
            // Absent, or complete and opening with the credentials.
            let first = try CrashHarness.open(output, account: Self.account, password: Self.password)
            if first != nil { #expect(CrashHarness.mode(of: output) == 0o600) }
            // Re-run converges: creates it, or refuses to overwrite the complete one.
            let rerun = try ToolRunner.run("keytool", createArguments(output, ws))
            #expect(rerun.status == 0 || first != nil, "\(rerun.stderr)")
            #expect(try CrashHarness.open(output, account: Self.account, password: Self.password) != nil)
            #expect(CrashHarness.mode(of: output) == 0o600)
            return outcome.killed
        }
        var killed = 0
        for point in ["verified-write.before-commit"] {
            if try check({ try CrashHarness.run("keytool", createArguments($0, ws), faultPoint: point) }) { killed += 1 }
        }
        #expect(killed == 1)
        let duration = try CrashHarness.run("keytool", createArguments(ws.key("timing.key"), ws)).elapsed
        for delay in CrashHarness.delays(over: duration, count: Self.delayCount) {
            _ = try check({ try CrashHarness.run("keytool", createArguments($0, ws), killAfter: delay) })
        }
        // Stray temporary files (the fault point leaves one) are never taken for key files.
        #expect(!CrashHarness.strayTemporaries(in: ws.keys).isEmpty)
        let verify = try ToolRunner.run("keytool", ["verify", ws.keys, "--quiet", "--allow-weak-kdf"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
    }

    func createArguments(_ output: String, _ ws: Workspace) -> [String] {
        ["create", "-o", output, "--account", Self.account, "--password-file", ws.passwordFile, "--keys", "3"] + Self.weak
    }

    // MARK: - keytool passwd

    @Test func keytoolPasswd() throws {
        let ws = try Workspace()
        func passwdArguments(_ file: String) -> [String] {
            ["passwd", file, "--account", Self.account, "--password-file", ws.passwordFile,
             "--new-password-file", ws.newPasswordFile] + Self.weak
        }
        var iteration = 0
        func check(_ kill: (String) throws -> CrashHarness.Outcome) throws -> Bool {
            iteration += 1
            let file = ws.key("p-\(iteration).key")
            let created = try ToolRunner.run("keytool", createArguments(file, ws))
            #expect(created.status == 0, "\(created.stderr)")
            let original = try #require(try CrashHarness.open(file, account: Self.account, password: Self.password))
            let outcome = try kill(file)
            // Old credentials or new ones open it, with the same keys: never neither.
            let old = try? CrashHarness.open(file, account: Self.account, password: Self.password)
            let new = try? CrashHarness.open(file, account: Self.account, password: Self.newPassword)
            #expect((old == nil) != (new == nil), "after a kill the file opens with exactly one of the passwords")
            #expect((old ?? new)?.keySet.fingerprint == original.keySet.fingerprint)
            #expect(CrashHarness.mode(of: file) == 0o600)
            if old != nil {
                let rerun = try ToolRunner.run("keytool", passwdArguments(file))
                #expect(rerun.status == 0, "\(rerun.stderr)")
            }
            let final = try CrashHarness.open(file, account: Self.account, password: Self.newPassword)
            #expect(final?.keySet.fingerprint == original.keySet.fingerprint)
            #expect(CrashHarness.mode(of: file) == 0o600)
            return outcome.killed
        }
        #expect(try check { try CrashHarness.run("keytool", passwdArguments($0), faultPoint: "verified-write.before-commit") })
        let timing = ws.key("timing.key")
        _ = try ToolRunner.run("keytool", createArguments(timing, ws))
        let duration = try CrashHarness.run("keytool", passwdArguments(timing)).elapsed
        for delay in CrashHarness.delays(over: duration, count: Self.delayCount) {
            _ = try check { try CrashHarness.run("keytool", passwdArguments($0), killAfter: delay) }
        }
        #expect(try ToolRunner.run("keytool", ["verify", ws.keys, "--quiet", "--allow-weak-kdf"]).status == 0)
    }

    // MARK: - miisserver setup (primary)

    /// A fresh installation directory and database per run; checks, re-runs, checks convergence.
    @Test func setupPrimary() async throws {
        let ws = try Workspace()
        var iteration = 0
        var killedCount = 0
        func arguments(_ n: Int) -> [String] {
            ["setup", "--install-dir", ws.root.file("alpha-\(n)"), "--name", "alpha", "--database", ws.root.file("db-\(n).sqlite"),
             "--role", "primary", "--account", Self.account, "--password-file", ws.passwordFile, "--admin-group", "root"] + Self.weak
        }
        func check(_ kill: ([String]) throws -> CrashHarness.Outcome) async throws {
            iteration += 1
            let install = ws.root.file("alpha-\(iteration)")
            let keyFile = install + "/keys/keyset.bin"
            let outcome = try kill(arguments(iteration))
            if outcome.killed { killedCount += 1 }
            if let db = try await CrashHarness.database(ws.root.file("db-\(iteration).sqlite")) {
                #expect(db.integrity == "ok")
                if let deployment = db.deployment {
                    // The deployment row is committed only after the keys are installed.
                    #expect(deployment.epoch == 1 && deployment.activeServer == "alpha")
                    let installed = try CrashHarness.open(keyFile, account: Self.account, password: Self.password)
                    #expect(installed?.keySet.id == deployment.keySetID)
                }
                try await db.store.close()
            }
            if FileManager.default.fileExists(atPath: keyFile) {
                #expect(try CrashHarness.open(keyFile, account: Self.account, password: Self.password) != nil)
                #expect(CrashHarness.mode(of: keyFile) == 0o600)
            }
            let rerun = try ToolRunner.run("miisserver", arguments(iteration))
            // 0, or "already set up" when the first run had completed (the kill came too late).
            #expect(rerun.status == 0 || rerun.status == 21, "re-run after kill (killed: \(outcome.killed)): \(rerun.stderr)")
            let checked = try ToolRunner.run("miisserver", ["check", "--install-dir", install])
            #expect(checked.status == 0, "converged: \(checked.stderr)")
            let db = try #require(try await CrashHarness.database(ws.root.file("db-\(iteration).sqlite")))
            #expect(db.integrity == "ok")
            let deployment = try #require(db.deployment)
            #expect(deployment.epoch == 1)
            #expect(try CrashHarness.open(keyFile, account: Self.account, password: Self.password)?.keySet.id == deployment.keySetID)
            #expect(CrashHarness.mode(of: keyFile) == 0o600)
            try await db.store.close()
        }
        let points = Self.faultPoints(["setup.after-configuration", "setup.after-keys-installed", "setup.after-register",
                                       "setup.after-deployment-created"],
                                      repeated: ["atomic-write.before-rename", "sqlite.before-commit", "sqlite.after-commit"])
        for point in points {
            try await check { try CrashHarness.run("miisserver", $0, faultPoint: point) }
        }
        #expect(killedCount >= 10, "only \(killedCount) fault points fired")
        let duration = try CrashHarness.run("miisserver", arguments(0)).elapsed
        for delay in CrashHarness.delays(over: duration, count: Self.delayCount) {
            try await check { try CrashHarness.run("miisserver", $0, killAfter: delay) }
        }
    }

    /// The known gap: a primary killed between installing its keys and creating the deployment
    /// row. Setup used to answer "already set up" for ever; now the same command finishes it.
    @Test func setupPrimaryResumesAfterCrashBeforeDeploymentRow() async throws {
        let sandbox = try DeploymentSandbox()
        let crashed = try ToolRunner.run("miisserver", ["setup", "--install-dir", sandbox.install("alpha"), "--name", "alpha",
                                                        "--database", sandbox.database, "--role", "primary", "--account", "CORP\\svc",
                                                        "--password-file", sandbox.passwordFile] + DeploymentSandbox.weak,
                                         environment: ["MIIS_FAULT_POINT": "setup.after-keys-installed"])
        #expect(crashed.status == SIGKILL)
        #expect(FileManager.default.fileExists(atPath: sandbox.install("alpha") + "/keys/keyset.bin"))
        #expect(try await sandbox.store().deployment() == nil)
        let staleKeySet = try #require(try ServerInstallation(directory: sandbox.install("alpha")).installedKeyFileHeader()).keySetID
        let rerun = try sandbox.setupPrimary()
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let deployment = try #require(try await sandbox.store().deployment())
        #expect(deployment.keySetID != staleKeySet)
        #expect(try sandbox.miis(["check", "--install-dir", sandbox.install("alpha")]).status == 0)
        // A complete installation is still refused, and a different request never resumes one.
        expectFailure(try sandbox.setupPrimary(), 21, "already set up")
        expectFailure(try sandbox.setupPrimary(extra: ["--admin-group", "other"]), 21, "already set up")
        // Crash after the row, before activation.json: the re-run records the activation.
        let second = try DeploymentSandbox()
        let killed = try ToolRunner.run("miisserver", ["setup", "--install-dir", second.install("alpha"), "--name", "alpha",
                                                       "--database", second.database, "--role", "primary", "--account", "CORP\\svc",
                                                       "--password-file", second.passwordFile] + DeploymentSandbox.weak,
                                        environment: ["MIIS_FAULT_POINT": "setup.after-deployment-created"])
        #expect(killed.status == SIGKILL)
        #expect(try second.state("alpha") == "fenced")
        #expect(try second.setupPrimary().status == 0)
        #expect(try second.state("alpha") == "active")
        #expect(try await second.store().deployment()?.epoch == 1)
    }

    // MARK: - miisserver setup (standby)

    @Test func setupStandby() async throws {
        let sandbox = try DeploymentSandbox()
        #expect(try sandbox.setupPrimary().status == 0)
        var iteration = 0
        var killedCount = 0
        func arguments(_ n: Int) -> [String] {
            ["setup", "--install-dir", sandbox.install("s\(n)"), "--name", "s\(n)", "--database", sandbox.database,
             "--role", "standby", "--account", "CORP\\svc"]
        }
        func check(_ kill: ([String]) throws -> CrashHarness.Outcome) async throws {
            iteration += 1
            let outcome = try kill(arguments(iteration))
            if outcome.killed { killedCount += 1 }
            let db = try #require(try await CrashHarness.database(sandbox.database))
            #expect(db.integrity == "ok")
            #expect(db.deployment?.epoch == 1)
            try await db.store.close()
            let rerun = try ToolRunner.run("miisserver", arguments(iteration), currentDirectory: sandbox.root.path)
            #expect(rerun.status == 0 || rerun.status == 21, "\(rerun.stderr)")
            #expect(try sandbox.state("s\(iteration)") == "standby")
        }
        for point in Self.faultPoints(["setup.after-configuration"], repeated: ["atomic-write.before-rename", "sqlite.before-commit", "sqlite.after-commit"], hits: 2) {
            try await check { try CrashHarness.run("miisserver", $0, faultPoint: point) }
        }
        #expect(killedCount >= 4)
        let duration = try CrashHarness.run("miisserver", arguments(0)).elapsed
        for delay in CrashHarness.delays(over: duration, count: Self.delayCount) {
            try await check { try CrashHarness.run("miisserver", $0, killAfter: delay) }
        }
    }

    // MARK: - miisserver secret set, miisserver backup

    @Test func secretSetAndBackup() async throws {
        let sandbox = try DeploymentSandbox()
        #expect(try sandbox.setupPrimary().status == 0)
        let install = sandbox.install("alpha")
        let keySet = try ServerInstallation(directory: install).openInstalledKeySet(password: try Password(DeploymentSandbox.password), policy: .allowWeak).keySet
        func secretValue(_ name: String) async throws -> String? {
            guard let stored = try await sandbox.store().secrets().first(where: { $0.name == name }) else { return nil }
            return String(decoding: try SecretCipher.open(stored, keySet: keySet).unsafeCopyToArray(), as: UTF8.self)
        }
        let setArguments = ["secret", "set", "connector/ad", "--install-dir", install, "--password-file", sandbox.passwordFile, "--allow-weak-kdf"]
        #expect(try sandbox.miis(setArguments, stdin: "old-value\n").status == 0)
        var runs: [(String, (Int) throws -> CrashHarness.Outcome)] = []
        for point in Self.faultPoints([], repeated: ["sqlite.before-commit", "sqlite.after-commit"], hits: 2) {
            runs.append((point, { _ in try CrashHarness.run("miisserver", setArguments, faultPoint: point, stdin: "new-value\n") }))
        }
        let duration = try CrashHarness.run("miisserver", setArguments, stdin: "old-value\n").elapsed
        for delay in CrashHarness.delays(over: duration, count: Self.delayCount) {
            runs.append(("delay \(delay)", { _ in try CrashHarness.run("miisserver", setArguments, killAfter: delay, stdin: "new-value\n") }))
        }
        var killed = 0
        for (label, run) in runs {
            #expect(try sandbox.miis(setArguments, stdin: "old-value\n").status == 0)
            if try run(0).killed { killed += 1 }
            #expect(try await sandbox.store().integrityCheck() == "ok")
            let value = try await secretValue("connector/ad")
            #expect(value == "old-value" || value == "new-value", "\(label): \(value ?? "nil")")
            #expect(try sandbox.miis(setArguments, stdin: "new-value\n").status == 0)
            #expect(try await secretValue("connector/ad") == "new-value")
        }
        #expect(killed >= 2)

        // miisserver backup: absent or a complete backup of the current key set; a re-run converges.
        func backupArguments(_ output: String) -> [String] {
            ["backup", "--install-dir", install, "-o", output, "--password-file", sandbox.passwordFile] + DeploymentSandbox.weak
        }
        try FileManager.default.createDirectory(atPath: sandbox.root.file("backups"), withIntermediateDirectories: true)
        var iteration = 0
        func checkBackup(_ kill: (String) throws -> CrashHarness.Outcome) throws {
            iteration += 1
            let output = sandbox.root.file("backups/backup-\(iteration).bin")
            _ = try kill(output)
            if let file = try CrashHarness.open(output, account: "CORP\\svc", password: DeploymentSandbox.password) {
                #expect(file.keySet.fingerprint == keySet.fingerprint)
                #expect(CrashHarness.mode(of: output) == 0o600)
            } else {
                let rerun = try ToolRunner.run("miisserver", backupArguments(output))
                #expect(rerun.status == 0, "\(rerun.stderr)")
            }
            #expect(try CrashHarness.open(output, account: "CORP\\svc", password: DeploymentSandbox.password)?.keySet.fingerprint == keySet.fingerprint)
            #expect(CrashHarness.mode(of: output) == 0o600)
        }
        try checkBackup { try CrashHarness.run("miisserver", backupArguments($0), faultPoint: "atomic-write.before-rename") }
        let backupDuration = try CrashHarness.run("miisserver", backupArguments(sandbox.root.file("backups/timing.bin"))).elapsed
        for delay in CrashHarness.delays(over: backupDuration, count: Self.delayCount) {
            try checkBackup { try CrashHarness.run("miisserver", backupArguments($0), killAfter: delay) }
        }
        #expect(try ToolRunner.run("keytool", ["verify", sandbox.root.file("backups"), "--quiet", "--allow-weak-kdf"]).status == 0)
    }

    // MARK: - miisactivate

    @Test func miisactivate() async throws {
        var killedCount = 0
        func check(_ label: String, _ kill: (DeploymentFixture, [String]) throws -> CrashHarness.Outcome) async throws {
            let deployment = try DeploymentFixture()
            let arguments = [deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf",
                             "--install-dir", deployment.installDirectory("sync2")]
            let outcome = try kill(deployment, arguments)
            if outcome.killed { killedCount += 1 }
            let keyFile = deployment.installDirectory("sync2") + "/keys/keyset.bin"
            let db = try #require(try await CrashHarness.database(deployment.database))
            #expect(db.integrity == "ok", "\(label)")
            let state = try #require(db.deployment)
            #expect((state.epoch == 1 && state.activeServer == "sync1") || (state.epoch == 2 && state.activeServer == "sync2"), "\(label)")
            if state.epoch == 2 {
                // Keys are installed before the switch commits.
                #expect(try CrashHarness.open(keyFile, account: DeploymentFixture.account, password: DeploymentFixture.password)?.keySet.id == state.keySetID)
            }
            try await db.store.close()
            if FileManager.default.fileExists(atPath: keyFile) {
                #expect(try CrashHarness.open(keyFile, account: DeploymentFixture.account, password: DeploymentFixture.password) != nil)
                #expect(CrashHarness.mode(of: keyFile) == 0o600)
            }
            let rerun = try deployment.activate("sync2")
            #expect(rerun.status == 0, "\(label): \(rerun.stderr)")
            #expect(try deployment.deploymentState().epoch == 2)
            #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
            #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
            let log = try deployment.history(from: "sync2")
            #expect(log.filter { ($0["outcome"] as? String) == "activated" }.count == 1, "\(label)")
            #expect(CrashHarness.mode(of: keyFile) == 0o600)
        }
        let points = Self.faultPoints(["activate.after-keys-installed", "activate.after-commit"],
                                      repeated: ["atomic-write.before-rename", "sqlite.before-commit", "sqlite.after-commit"], hits: 2)
        for point in points {
            try await check(point) { _, arguments in
                try CrashHarness.run("miisactivate", arguments, faultPoint: point, stdin: DeploymentFixture.password + "\n")
            }
        }
        #expect(killedCount >= 6, "only \(killedCount) fault points fired")
        let timing = try DeploymentFixture()
        let duration = try CrashHarness.run("miisactivate", [timing.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf",
                                                             "--install-dir", timing.installDirectory("sync2")],
                                            stdin: DeploymentFixture.password + "\n").elapsed
        for delay in CrashHarness.delays(over: duration, count: 8) {
            try await check("delay \(delay) ms") { _, arguments in
                try CrashHarness.run("miisactivate", arguments, killAfter: delay, stdin: DeploymentFixture.password + "\n")
            }
        }
    }
}
