import Deployment
import Foundation
import KeyFile
import Testing

/// `miisserver keys` on the built binaries, on SQLite and on PostgreSQL: rotate (the pre-rotation
/// backup then refused by miisactivate with exit 25, a new backup works), retire/disable/purge,
/// abandon (secrets needing re-entry, `secret set`), `history --keys`; and SIGKILL at every step
/// of a rotation.
@Suite("Key lifecycle (end to end)", .serialized)
struct KeyLifecycleTests {
    static func json(_ result: ToolRunner.Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func keys(_ deployment: DeploymentFixture, _ server: String, _ arguments: [String]) throws -> ToolRunner.Result {
        try deployment.miisserver(server, ["keys"] + arguments + ["--password-file", deployment.passwordFile, "--allow-weak-kdf"])
    }

    func inspect(_ path: String) throws -> [String: Any] {
        let result = try ToolRunner.run("keytool", ["inspect", path, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try Self.json(result)["header"] as? [String: Any] ?? [:]
    }

    func keyHistory(_ deployment: DeploymentFixture, _ server: String) throws -> [String] {
        let result = try deployment.miisserver(server, ["history", "--keys", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return (try Self.json(result)["entries"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
    }

    /// Rotation, then retire/disable/purge, then a failover with a current backup.
    func rotateThenFailOver(_ deployment: DeploymentFixture) throws {
        let installed = deployment.installDirectory("sync1") + "/keys/keyset.bin"
        #expect(try deployment.miisserver("sync1", ["secret", "set", "crm", "--password-file", deployment.passwordFile, "--allow-weak-kdf"],
                                          stdin: "connector-pw\n").status == 0)
        #expect(try inspect(deployment.backup)["generation"] as? Int == 1)

        let rotate = try keys(deployment, "sync1", ["rotate"])
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stdout.contains("Rotated: key 2 is the new primary; 1 secret(s) re-encrypted."), "\(rotate.stdout)")
        #expect(rotate.stdout.contains("is now generation 2 (was 1)"), "\(rotate.stdout)")
        #expect(rotate.stderr.contains("take a new backup now (miisserver backup)"), "\(rotate.stderr)")
        #expect(try inspect(installed)["generation"] as? Int == 2)
        let text = try ToolRunner.run("keytool", ["inspect", installed])
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("generation") && $0.hasSuffix(" 2") }, "\(text.stdout)")
        let deploymentRow = try deployment.status(from: "sync2")["deployment"] as? [String: Any] ?? [:]
        #expect(deploymentRow["keySetGeneration"] as? Int == 2)
        #expect(try deployment.miisserver("sync2", ["status"]).stdout.contains(" generation 2 fingerprint "))
        #expect(try deployment.miisserver("sync1", ["check"]).status == 0)

        // status --backups: the newest backup in a folder is of generation 1, stale now.
        let folder = deployment.root.file("backups")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: deployment.backup, toPath: folder + "/miiskeys-1.bin")
        let staleFolder = try deployment.miisserver("sync2", ["status", "--backups", folder])
        #expect(staleFolder.stdout.contains("Newest backup:   \(folder)/miiskeys-1.bin, generation 1, "), "\(staleFolder.stdout)")
        #expect(staleFolder.stdout.contains(": STALE, the key set is at generation 2: take a new backup"), "\(staleFolder.stdout)")
        let staleJSON = try Self.json(try deployment.miisserver("sync2", ["status", "--backups", folder, "--json"]))
        #expect((staleJSON["newestBackup"] as? [String: Any])?["current"] as? Bool == false)
        #expect((staleJSON["newestBackup"] as? [String: Any])?["generation"] as? Int == 1)

        let list = try Self.json(try deployment.miisserver("sync1", ["keys", "list", "--json"]))
        let listed = (list["keys"] as? [[String: Any]] ?? []).map {
            "\($0["id"] as? Int ?? 0)/\($0["status"] as? String ?? "")/\(($0["primary"] as? Bool) == true ? "primary" : "-")/\($0["secrets"] as? Int ?? -1)"
        }
        #expect(listed == ["1/retired/-/0", "2/active/primary/1"], "\(listed)")
        #expect(list["generation"] as? Int == 2)

        // The primary key cannot be disabled; key 1 can (no secret needs it); purge removes it.
        let primary = try keys(deployment, "sync1", ["disable", "2"])
        #expect(primary.status == 30)
        #expect(primary.stderr.contains("key 2 is the primary key"), "\(primary.stderr)")
        #expect(try keys(deployment, "sync1", ["disable", "1"]).status == 0)
        let purge = try keys(deployment, "sync1", ["purge"])
        #expect(purge.status == 0, "\(purge.stderr)")
        #expect(purge.stdout.contains("is now generation 4 (was 3)"), "\(purge.stdout)")
        #expect(try keys(deployment, "sync1", ["purge"]).stdout.contains("Nothing to purge"))
        #expect(try keyHistory(deployment, "sync2") == ["setup", "rotate", "disable", "purge"])
        let historyText = try deployment.miisserver("sync2", ["history", "--keys"])
        #expect(historyText.stdout.contains("generation 4  purge  key set "), "\(historyText.stdout)")

        // A standby may not change the key set.
        #expect(try keys(deployment, "sync2", ["rotate"]).status == 28)

        // The pre-rotation backup is stale: miisactivate names both generations.
        Thread.sleep(forTimeInterval: 1.2)
        let stale = try deployment.activate("sync2")
        #expect(stale.status == 25, "\(stale.stderr)")
        #expect(stale.stderr.contains("is generation 1 but the deployment needs generation 4: it is from before the key set last changed (a stale backup)"),
                "\(stale.stderr)")
        let fresh = folder + "/miiskeys-2.bin"
        let backup = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"), "-o", fresh,
                                                    "--password-file", deployment.passwordFile] + DeploymentFixture.weakKDF,
                                        environment: deployment.environment)
        #expect(backup.status == 0, "\(backup.stderr)")
        let currentFolder = try deployment.miisserver("sync2", ["status", "--backups", folder])
        #expect(currentFolder.stdout.contains("Newest backup:   \(fresh), generation 4, "), "\(currentFolder.stdout)")
        #expect(currentFolder.stdout.contains(": current"), "\(currentFolder.stdout)")
        // The backup chooser: the pre-rotation file is a stale key set (not merely older), by its header's generation.
        let choice = try deployment.activate("sync2", keyFile: folder, extra: ["--dry-run"])
        #expect(choice.status == 0, "\(choice.stderr)")
        let rows = choice.stdout.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("  chosen ") && $0.contains("/miiskeys-2.bin") }, "\(choice.stdout)")
        #expect(rows.contains { $0.hasPrefix("  staleKeySet ") && $0.contains("/miiskeys-1.bin")
                && $0.contains("is generation 1 but the deployment needs generation 4: it is from before the key set last changed (a stale backup)") },
                "\(choice.stdout)")
        let dryRunJSON = try Self.json(try deployment.activate("sync2", keyFile: fresh, extra: ["--dry-run", "--json"]))
        #expect(dryRunJSON["keySetGeneration"] as? Int == 4, "\(dryRunJSON)")
        let activated = try deployment.activate("sync2", keyFile: fresh)
        #expect(activated.status == 0, "\(activated.stderr)")
        #expect(try deployment.deploymentState(from: "sync2") == (2, "sync2"))
    }

    /// Every key file lost: abandon on the server to become active.
    func abandon(_ deployment: DeploymentFixture) throws {
        #expect(try deployment.miisserver("sync1", ["secret", "set", "crm", "--password-file", deployment.passwordFile, "--allow-weak-kdf"],
                                          stdin: "connector-pw\n").status == 0)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let abandonArguments = ["abandon", "--force", "--reason", "every key file lost"] + DeploymentFixture.weakKDF
        let alive = try keys(deployment, "sync2", abandonArguments)
        #expect(alive.status == 26, "\(alive.stderr)")
        let unforced = try deployment.miisserver("sync2", ["keys", "abandon", "--reason", "x", "--password-file", deployment.passwordFile])
        #expect(unforced.status == 64)
        #expect(unforced.stderr.contains("needs --force and --reason TEXT"), "\(unforced.stderr)")
        // The primary still holds the current key set: it is not lost there.
        Thread.sleep(forTimeInterval: 1.2)
        let holder = try keys(deployment, "sync1", abandonArguments)
        #expect(holder.status == 30, "\(holder.stderr)")
        #expect(holder.stderr.contains("it is not lost") && holder.stderr.contains("miisserver keys rotate"), "\(holder.stderr)")

        let abandoned = try keys(deployment, "sync2", abandonArguments)
        #expect(abandoned.status == 0, "\(abandoned.stderr)")
        #expect(abandoned.stdout.contains("this server is active at epoch 2 with the new key set. 1 secret(s) need re-entry: crm."), "\(abandoned.stdout)")
        #expect(abandoned.stderr.contains("secret 'crm' needs re-entry: miisserver secret set crm"), "\(abandoned.stderr)")
        #expect(try deployment.deploymentState(from: "sync2") == (2, "sync2"))
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
        #expect(try inspect(deployment.installDirectory("sync2") + "/keys/keyset.bin")["generation"] as? Int == 2)

        let listed = try deployment.miisserver("sync2", ["secret", "list"])
        #expect(listed.stdout == "crm  key 1  NEEDS RE-ENTRY (miisserver secret set crm)\n", "\(listed.stdout)")
        let listedJSON = try Self.json(try deployment.miisserver("sync2", ["secret", "list", "--json"]))
        #expect((listedJSON["secrets"] as? [[String: Any]])?.first?["needsReentry"] as? Bool == true)
        #expect(try deployment.miisserver("sync2", ["secret", "set", "crm", "--password-file", deployment.passwordFile, "--allow-weak-kdf"],
                                          stdin: "re-entered\n").status == 0)
        // Under the new key set's key 2: key IDs continue the count, never reused.
        #expect(try deployment.miisserver("sync2", ["secret", "list"]).stdout == "crm  key 2\n")
        #expect(try keyHistory(deployment, "sync1") == ["setup", "abandon"])
        let log = try deployment.history(from: "sync1")
        #expect(log.contains { ($0["outcome"] as? String) == "activated" && (($0["detail"] as? String)?.contains("abandoned: every key file lost") ?? false) },
                "\(log)")
        // The old backup is of another key set now.
        #expect(try deployment.activate("sync1").status == 25)
    }

    @Test func rotateRetirePurgeAndFailOverOnSQLite() throws {
        try rotateThenFailOver(try DeploymentFixture(lease: 1))
    }

    @Test func abandonOnSQLite() throws {
        try abandon(try DeploymentFixture(lease: 1))
    }

    @Test func rotateRetirePurgeAndFailOverOnPostgreSQL() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        try rotateThenFailOver(try DeploymentFixture(database: database.url, lease: 1, environment: database.environment))
    }

    @Test func abandonOnPostgreSQL() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        try abandon(try DeploymentFixture(database: database.url, lease: 1, environment: database.environment))
    }

    // MARK: - Crash safety

    /// SIGKILL at each step of a rotation: before the database switched, the deployment is at
    /// generation 1 with its key file installed; after, at generation 2 with the new file staged or
    /// installed. A re-run converges on generation 2 (it never rotates twice) and removes the
    /// staged file.
    @Test(arguments: ["keys.after-staged", "sqlite.before-commit", "sqlite.after-commit", "keys.after-commit", "keys.after-installed"])
    func rotationKilledAtEachStepConverges(_ point: String) async throws {
        let deployment = try DeploymentFixture()
        let install = deployment.installDirectory("sync1")
        let outcome = try CrashHarness.run("miisserver", ["keys", "rotate", "--install-dir", install, "--password-file", deployment.passwordFile,
                                                          "--allow-weak-kdf"], faultPoint: point)
        #expect(outcome.killed, "\(point): the process was not killed (status \(outcome.status))")
        let committed = !["keys.after-staged", "sqlite.before-commit"].contains(point)
        let before = try #require(try await CrashHarness.database(deployment.database))
        #expect(before.integrity == "ok")
        #expect(before.deployment?.keySetGeneration == (committed ? 2 : 1), "\(point)")
        try await before.store.close()
        let installed = try #require(try CrashHarness.open(install + "/keys/keyset.bin", account: DeploymentFixture.account,
                                                           password: DeploymentFixture.password))
        #expect(installed.keySet.generation == (point == "keys.after-installed" ? 2 : 1), "\(point)")
        #expect(CrashHarness.strayTemporaries(in: install).isEmpty)
        if committed && point != "keys.after-installed" {
            // Committed, the older generation still installed: check says so.
            #expect(try deployment.miisserver("sync1", ["check"]).status == 25)
        }

        let rerun = try keys(deployment, "sync1", ["rotate"])
        #expect(rerun.status == 0, "\(point): \(rerun.stderr)")
        #expect(rerun.stdout.contains(committed ? "Finished an interrupted key-set change (rotate" : "is now generation 2 (was 1)"),
                "\(point): \(rerun.stdout)")
        let after = try #require(try await CrashHarness.database(deployment.database))
        #expect(after.deployment?.keySetGeneration == 2, "\(point)")
        try await after.store.close()
        #expect(try CrashHarness.open(install + "/keys/keyset.bin", account: DeploymentFixture.account,
                                      password: DeploymentFixture.password)?.keySet.generation == 2)
        #expect(!FileManager.default.fileExists(atPath: install + "/keys/" + ServerInstallation.stagedKeyFileName), "\(point)")
        #expect(try deployment.miisserver("sync1", ["check"]).status == 0)
        #expect(try keyHistory(deployment, "sync1") == ["setup", "rotate"])
    }

    /// The same for an abandon on the standby: killed before the switch, nothing changed (sync1
    /// active, no key set on sync2); after it, a re-run installs the staged key set, records the
    /// activation and reports the finished change; the secret stays marked for re-entry.
    @Test(arguments: ["keys.after-staged", "keys.after-commit", "keys.after-installed"])
    func abandonKilledAtEachStepConverges(_ point: String) async throws {
        let deployment = try DeploymentFixture()
        #expect(try deployment.miisserver("sync1", ["secret", "set", "crm", "--password-file", deployment.passwordFile, "--allow-weak-kdf"],
                                          stdin: "v\n").status == 0)
        let install = deployment.installDirectory("sync2")
        let arguments = ["keys", "abandon", "--force", "--reason", "lost", "--install-dir", install,
                         "--password-file", deployment.passwordFile] + DeploymentFixture.weakKDF
        let outcome = try CrashHarness.run("miisserver", arguments, faultPoint: point)
        #expect(outcome.killed, "\(point): the process was not killed (status \(outcome.status))")
        let committed = point != "keys.after-staged"
        #expect(try deployment.deploymentState(from: "sync1") == (committed ? (2, "sync2") : (1, "sync1")), "\(point)")
        #expect(FileManager.default.fileExists(atPath: install + "/keys/keyset.bin") == (point == "keys.after-installed"), "\(point)")

        let rerun = try keys(deployment, "sync2", ["abandon", "--force", "--reason", "lost"] + DeploymentFixture.weakKDF)
        #expect(rerun.status == 0, "\(point): \(rerun.stderr)")
        #expect(rerun.stdout.contains(committed ? "Finished an interrupted key-set change (abandon" : "1 secret(s) need re-entry: crm."),
                "\(point): \(rerun.stdout)")
        #expect(try deployment.deploymentState(from: "sync1") == (2, "sync2"))
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0, "\(point)")
        #expect(!FileManager.default.fileExists(atPath: install + "/keys/" + ServerInstallation.stagedKeyFileName))
        #expect(try deployment.miisserver("sync2", ["secret", "list"]).stdout.contains("NEEDS RE-ENTRY"))
        #expect(try keyHistory(deployment, "sync2") == ["setup", "abandon"])
    }
}
