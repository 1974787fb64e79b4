import Foundation
import Testing

/// "Which backup do I activate with?" (issue 18): `miisactivate --dry-run DIR`, the warnings of an
/// activation from an older file, the dry run's full check list and the checklist afterwards, on
/// the built binaries.
@Suite(.serialized) struct BackupChoiceTests {
    static let newPassword = "a new service password ✓"

    /// A backup folder as a year of cron leaves it: miiskeys-1.bin (the first password),
    /// miiskeys-2.bin (after a password change), a key file of another deployment, a damaged
    /// copy and a note.
    struct Folder {
        let deployment: DeploymentFixture
        let other: DeploymentFixture
        let path: String
        let newPasswordFile: String
        var file: (String) -> String { { "\(path)/\($0)" } }
    }

    func makeFolder() throws -> Folder {
        let deployment = try DeploymentFixture()
        let other = try DeploymentFixture()
        let folder = deployment.root.file("backups")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let newPasswordFile = deployment.root.file("new-password")
        try (Self.newPassword + "\n").write(toFile: newPasswordFile, atomically: true, encoding: .utf8)
        chmod(newPasswordFile, 0o600)
        try backup(deployment, into: folder, passwordFile: deployment.passwordFile)
        // The password change of the runbook: the installed key set re-protected, then the next backup.
        let passwd = try ToolRunner.run("keytool", ["passwd", deployment.installDirectory("sync1") + "/keys/keyset.bin",
                                                    "--account", DeploymentFixture.account, "--password-file", deployment.passwordFile,
                                                    "--new-password-file", newPasswordFile] + DeploymentFixture.weakKDF)
        #expect(passwd.status == 0, "\(passwd.stderr)")
        try backup(deployment, into: folder, passwordFile: newPasswordFile)
        try FileManager.default.copyItem(atPath: other.backup, toPath: "\(folder)/other-deployment.bin")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(folder)/miiskeys-1.bin")))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/damaged.bin"))
        try "not a key file\n".write(toFile: "\(folder)/notes.txt", atomically: true, encoding: .utf8)
        for name in ["damaged.bin", "notes.txt", "other-deployment.bin"] { chmod("\(folder)/\(name)", 0o600) }
        return Folder(deployment: deployment, other: other, path: folder, newPasswordFile: newPasswordFile)
    }

    func backup(_ deployment: DeploymentFixture, into folder: String, passwordFile: String) throws {
        let result = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"),
                                                       "--password-file", passwordFile] + DeploymentFixture.weakKDF,
                                        currentDirectory: folder)
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// The row of `name` in the chooser's table.
    func row(_ output: String, _ name: String) -> String {
        output.split(separator: "\n").first { $0.contains("/\(name)") }.map(String.init) ?? ""
    }

    @Test func folderNamesTheNewestUsableFileAndWhyNotTheOthers() throws {
        let folder = try makeFolder()
        let result = try folder.deployment.activate("sync2", keyFile: folder.path, password: Self.newPassword, extra: ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("Backups in \(folder.path), newest first:"), "\(out)")
        #expect(row(out, "miiskeys-2.bin").hasPrefix("  chosen "), "\(out)")
        #expect(row(out, "miiskeys-2.bin").hasSuffix("the newest file of the current key set that opens with these credentials"))
        #expect(row(out, "miiskeys-1.bin").hasPrefix("  older "), "\(out)")
        #expect(row(out, "other-deployment.bin").hasPrefix("  staleKeySet "), "\(out)")
        #expect(row(out, "other-deployment.bin").contains("not the deployment's current key set"))
        #expect(row(out, "damaged.bin").hasPrefix("  damaged "), "\(out)")
        #expect(row(out, "damaged.bin").contains("whole-file SHA-256 checksum does not match"))
        #expect(row(out, "notes.txt").hasPrefix("  notAKeyFile "), "\(out)")
        #expect(out.contains("epoch 1 -> 2; installs \(folder.file("miiskeys-2.bin")) as \(folder.deployment.installDirectory("sync2"))/keys/keyset.bin"), "\(out)")
        #expect(!result.stderr.contains("warning: \(folder.file("miiskeys-2.bin"))"), "\(result.stderr)")
        #expect(try folder.deployment.deploymentState().epoch == 1)
    }

    /// The deployment's SQLite files are never opened by the chooser: closing a descriptor of
    /// them would drop SQLite's POSIX locks of this process (seen as a SIGBUS of concurrent activations).
    @Test func folderHoldingTheDatabaseNeverOpensIt() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2", keyFile: deployment.root.path, extra: ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(row(result.stdout, "miis_keys.bin").hasPrefix("  chosen "), "\(result.stdout)")
        for name in ["shared.db ", "shared.db-wal ", "shared.db-shm "] where FileManager.default.fileExists(atPath: deployment.root.file(name.trimmingCharacters(in: .whitespaces))) {
            #expect(row(result.stdout, name).hasPrefix("  notAKeyFile "), "\(result.stdout)")
            #expect(row(result.stdout, name).hasSuffix("a file of the deployment's own database, not a key file (not opened)"), "\(result.stdout)")
        }
    }

    @Test func folderWithTheOlderPasswordChoosesTheOlderFileAndWarns() throws {
        let folder = try makeFolder()
        let result = try folder.deployment.activate("sync2", keyFile: folder.path, extra: ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(row(result.stdout, "miiskeys-1.bin").hasPrefix("  chosen "), "\(result.stdout)")
        #expect(row(result.stdout, "miiskeys-2.bin").hasPrefix("  wrongCredentials "), "\(result.stdout)")
        #expect(row(result.stdout, "miiskeys-2.bin").contains("wrong password or account"))
        let warning = "miisactivate: warning: \(folder.file("miiskeys-1.bin")) is sealed with an older password than the newer backup \(folder.file("miiskeys-2.bin"))"
        #expect(result.stderr.split(separator: "\n").filter { $0.hasPrefix(warning) }.count == 1, "\(result.stderr)")
    }

    @Test func folderJSONListsEveryCandidateAndEveryCheck() throws {
        let folder = try makeFolder()
        let result = try folder.deployment.activate("sync2", keyFile: folder.path, password: Self.newPassword, extra: ["--dry-run", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(report["outcome"] as? String == "dryRun")
        #expect(report["allChecksPassed"] as? Bool == true)
        let choice = report["backupChoice"] as? [String: Any] ?? [:]
        #expect(choice["chosen"] as? String == folder.file("miiskeys-2.bin"))
        let verdicts = Dictionary(uniqueKeysWithValues: (choice["candidates"] as? [[String: Any]] ?? []).map {
            (($0["path"] as? String ?? "") as NSString).lastPathComponent + "=" + ($0["verdict"] as? String ?? "")
        }.map { ($0, true) })
        for expected in ["miiskeys-2.bin=chosen", "miiskeys-1.bin=older", "other-deployment.bin=staleKeySet",
                         "damaged.bin=damaged", "notes.txt=notAKeyFile"] {
            #expect(verdicts[expected] == true, "\(expected) in \(result.stdout)")
        }
        let checks = report["checks"] as? [[String: Any]] ?? []
        #expect(checks.map { $0["number"] as? Int ?? 0 } == [1, 2, 3, 4, 5, 6])
        #expect(checks.allSatisfy { $0["status"] as? String == "passed" }, "\(checks)")
        let plan = report["plan"] as? [String: Any] ?? [:]
        #expect(plan["replaces"] as? String == "sync1")
        #expect(plan["fromEpoch"] as? Int == 1 && plan["toEpoch"] as? Int == 2)
        #expect(plan["keyFile"] as? String == folder.file("miiskeys-2.bin"))
    }

    @Test func folderWithoutUsableFileExitsWithTheBestCandidatesClass() throws {
        let folder = try makeFolder()
        // Neither password of this deployment: miiskeys-1/2 are intact and current but do not open (11).
        let wrong = try folder.deployment.activate("sync2", keyFile: folder.path, password: "neither password", extra: ["--dry-run"])
        #expect(wrong.status == 11, "\(wrong.stderr)")
        #expect(wrong.stdout.contains("No file in \(folder.path) can be activated with."), "\(wrong.stdout)")
        #expect(wrong.stderr.contains("miisactivate: dry run: check 5 failed: wrong password or account"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("best candidate: \(folder.file("miiskeys-2.bin"))"), "\(wrong.stderr)")
        // Only another deployment's file and damage left: stale key set (25) outranks damage.
        for name in ["miiskeys-1.bin", "miiskeys-2.bin"] { try FileManager.default.removeItem(atPath: folder.file(name)) }
        let stale = try folder.deployment.activate("sync2", keyFile: folder.path)
        #expect(stale.status == 25, "\(stale.stderr)")
        #expect(stale.stderr.contains("best candidate: \(folder.file("other-deployment.bin"))"), "\(stale.stderr)")
        try FileManager.default.removeItem(atPath: folder.file("other-deployment.bin"))
        #expect(try folder.deployment.activate("sync2", keyFile: folder.path).status == 10)
        #expect(try folder.deployment.deploymentState().epoch == 1)
    }

    /// The nightly backup reads the installed key file with the current password: after an
    /// activation from a file sealed with the older one it would fail (11) until re-protected as
    /// the warning says.
    @Test func activatingFromAnOlderPasswordWarnsAndTheAdviceMakesTheNextBackupWork() throws {
        let folder = try makeFolder()
        let result = try folder.deployment.activate("sync2", keyFile: folder.file("miiskeys-1.bin"))
        #expect(result.status == 0, "\(result.stderr)")
        let installed = folder.deployment.installDirectory("sync2") + "/keys/keyset.bin"
        let warnings = result.stderr.split(separator: "\n").filter { $0.contains("sealed with an older password") }
        #expect(warnings.count == 1, "\(result.stderr)")
        #expect(warnings.first?.hasPrefix("miisactivate: warning: \(folder.file("miiskeys-1.bin")) is sealed with an older password") == true)
        #expect(warnings.first?.contains("next miisserver backup fails (exit 11): keytool passwd \(installed) --account 'corp\\svc-sync' --password-file OLD.pw --new-password-file CURRENT.pw") == true,
                "\(result.stderr)")
        let nightly = { try ToolRunner.run("miisserver", ["backup", "--install-dir", folder.deployment.installDirectory("sync2"),
                                                          "--password-file", folder.newPasswordFile] + DeploymentFixture.weakKDF,
                                           currentDirectory: folder.path) }
        #expect(try nightly().status == 11)
        let passwd = try ToolRunner.run("keytool", ["passwd", installed, "--account", DeploymentFixture.account,
                                                    "--password-file", folder.deployment.passwordFile,
                                                    "--new-password-file", folder.newPasswordFile] + DeploymentFixture.weakKDF)
        #expect(passwd.status == 0, "\(passwd.stderr)")
        let fixed = try nightly()
        #expect(fixed.status == 0, "\(fixed.stderr)")
    }

    @Test func activatingFromAFileOlderThanANewerBackupWarns() throws {
        let deployment = try DeploymentFixture()
        let folder = deployment.root.file("backups")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try backup(deployment, into: folder, passwordFile: deployment.passwordFile)
        try backup(deployment, into: folder, passwordFile: deployment.passwordFile)
        let result = try deployment.activate("sync2", keyFile: "\(folder)/miiskeys-1.bin")
        #expect(result.status == 0, "\(result.stderr)")
        let warning = "miisactivate: warning: \(folder)/miiskeys-1.bin is older than \(folder)/miiskeys-2.bin in the same folder, which also holds the current key set and opens with these credentials; miisactivate --dry-run \(folder) names the newest usable backup"
        #expect(result.stderr.split(separator: "\n").filter { $0 == warning }.count == 1, "\(result.stderr)")
        #expect(try deployment.deploymentState().epoch == 2)
    }

    @Test func dryRunRunsEveryCheckAndExitsWithTheFirstFailure() throws {
        let deployment = try DeploymentFixture()
        #expect(try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "sync1"]).status == 0)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let result = try deployment.activate("sync2", password: "not the password", extra: ["--dry-run"])
        #expect(result.status == 24, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let checks = lines.filter { $0.hasPrefix("  ") && $0.dropFirst(2).first?.isNumber == true }
        try #require(checks.count == 6, "\(result.stdout)")
        let statuses = checks.map { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ") }
        #expect(statuses == ["1 pass", "2 pass", "3 pass", "4 FAIL", "5 FAIL", "6 FAIL"], "\(result.stdout)")
        #expect(checks[3].contains("directed to sync1, not to this server; redirect it first: miisserver password-sync --enable --target sync2"))
        #expect(checks[4].contains("wrong password or account"))
        #expect(checks[5].contains("still alive"), "\(checks[5])")
        #expect(lines.last == "Dry run: 3 checks failed; sync2 cannot be activated as it is. Nothing was changed.")
        #expect(result.stderr.contains("miisactivate: dry run: check 4 failed: password synchronization is enabled and directed to sync1"), "\(result.stderr)")
        let json = try deployment.activate("sync2", password: "not the password", extra: ["--dry-run", "--json"])
        #expect(json.status == 24)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(report["allChecksPassed"] as? Bool == false)
        let listed = report["checks"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["status"] as? String ?? "" } == ["passed", "passed", "passed", "failed", "failed", "failed"])
        #expect(listed.map { $0["exitCode"] as? Int ?? 0 } == [0, 0, 0, 24, 11, 26])
        #expect(report["plan"] == nil)
        // A non-dry run still stops at the first failure.
        let refused = try deployment.activate("sync2", password: "not the password")
        #expect(refused.status == 24)
        #expect(!refused.stderr.contains("wrong password"))
    }

    @Test func activationPrintsTheChecklist() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2")
        #expect(result.status == 0, "\(result.stderr)")
        let units = "miis-sync.service miis-heartbeat.timer"
        #expect(result.stdout.contains("""
            Next steps:
              1. start the service and the heartbeat timer here: systemctl enable --now \(units)
              2. stop them on the old primary sync1, if it comes back: systemctl disable --now \(units) (its heartbeat fails there: it is fenced)
              3. take a fresh backup here: cd /var/backups/miis && miisserver backup --password-file /root/miis.pw
              4. copy that backup off this host (scp or your backup system): a backup kept only on the primary is lost with it
            """), "\(result.stdout)")
        let json = try DeploymentFixture()
        let report = try json.activate("sync2", extra: ["--json"])
        #expect(report.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any] ?? [:]
        let steps = object["nextSteps"] as? [String] ?? []
        #expect(steps.count == 4)
        #expect(steps.first == "start the service and the heartbeat timer here: systemctl enable --now \(units)")
        // A dry run has no checklist.
        #expect(try deployment.activate("sync2", extra: ["--dry-run"]).stdout.contains("Next steps") == false)
    }
}
