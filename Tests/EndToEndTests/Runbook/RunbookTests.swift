import Foundation
import Testing

/// The README's administrator's runbook, command by command, against a real deployment:
/// scheduled backups, nightly verification, an audit, a service-account password change, a
/// failover and a fail back.
@Suite struct RunbookTests {
    @Test func runbookFromBackupToFailback() throws {
        let deployment = try DeploymentFixture()
        let weak = DeploymentFixture.weakKDF
        let backups = deployment.root.file("backups")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        let account = DeploymentFixture.account

        // Scheduled key backups: `cd /var/backups/miis && miisserver backup --password-file …`.
        for expected in ["miiskeys-1.bin", "miiskeys-2.bin"] {
            let backup = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"),
                                                        "--password-file", deployment.passwordFile] + weak,
                                            currentDirectory: backups)
            #expect(backup.status == 0, "\(backup.stderr)")
            #expect(FileManager.default.fileExists(atPath: "\(backups)/\(expected)"))
        }

        // Nightly verification, without and with the password.
        let integrity = try ToolRunner.run("keytool", ["verify", "--recursive", backups, "--allow-weak-kdf"])
        #expect(integrity.status == 0, "\(integrity.stderr)")
        let authenticated = try ToolRunner.run("keytool", ["verify", "--recursive", backups, "--account", account,
                                                           "--password-file", deployment.passwordFile, "--allow-weak-kdf"])
        #expect(authenticated.status == 0, "\(authenticated.stderr)")

        // Auditing without the password: the deliberately weak test KDF is a high finding (exit 40).
        let audit = try ToolRunner.run("keytool", ["audit", backups, "--max-age", "30", "--fail-on", "high", "--json"])
        #expect(audit.status == 40)
        let report = try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [String: Any]
        #expect(report?["schemaVersion"] as? Int == 1)
        #expect(audit.stdout.contains("kdf.below-floor"))

        // After a service-account password change: re-protect the installed key set, back up again.
        let newPassword = deployment.root.file("new-password")
        try "a new service password ✓\n".write(toFile: newPassword, atomically: true, encoding: .utf8)
        let installed = deployment.installDirectory("sync1") + "/keys/keyset.bin"
        let passwd = try ToolRunner.run("keytool", ["passwd", installed, "--account", account, "--password-file", deployment.passwordFile,
                                                    "--new-password-file", newPassword, "--keep-kdf", "--allow-weak-kdf"])
        #expect(passwd.status == 0, "\(passwd.stderr)")
        let secret = try deployment.miisserver("sync1", ["secret", "set", "ad-connector", "--password-file", newPassword, "--allow-weak-kdf"],
                                               stdin: "connector-secret\n")
        #expect(secret.status == 0, "\(secret.stderr)")
        let fresh = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"),
                                                   "--password-file", newPassword] + weak, currentDirectory: backups)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        let latest = "\(backups)/miiskeys-3.bin"

        // Failover: status, redirect password sync, dry run, activate, check, history.
        #expect(try deployment.miisserver("sync2", ["status"]).status == 0)
        #expect(try deployment.miisserver("sync2", ["password-sync", "--enable", "--target", "sync2"]).status == 0)
        // "Which backup?": the folder; the newest file, sealed with the new password, is chosen.
        let dryRun = try deployment.activate("sync2", keyFile: backups, password: "a new service password ✓", extra: ["--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        #expect(dryRun.stdout.split(separator: "\n").contains { $0.hasPrefix("  chosen ") && $0.contains(latest) }, "\(dryRun.stdout)")
        let failover = try deployment.activate("sync2", keyFile: latest, password: "a new service password ✓")
        #expect(failover.status == 0, "\(failover.stderr)")
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
        #expect(try deployment.miisserver("sync2", ["history"]).stdout.contains("activated"))
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)

        // After a suspected key compromise: rotate, then back up; disable and purge the old key;
        // the key set's history. (Abandoning a lost key set is exercised by KeyLifecycleTests.)
        let keyArguments = ["--password-file", newPassword, "--allow-weak-kdf"]
        let rotate = try deployment.miisserver("sync2", ["keys", "rotate"] + keyArguments)
        #expect(rotate.status == 0, "\(rotate.stderr)")
        #expect(rotate.stderr.contains("take a new backup now"))
        let afterRotation = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync2"),
                                                           "--password-file", newPassword] + weak, currentDirectory: backups)
        #expect(afterRotation.status == 0, "\(afterRotation.stderr)")
        #expect(try deployment.miisserver("sync2", ["keys", "list"]).stdout.contains("2   active   yes"))
        #expect(try deployment.miisserver("sync2", ["keys", "disable", "1"] + keyArguments).status == 0)
        #expect(try deployment.miisserver("sync2", ["keys", "purge"] + keyArguments).status == 0)
        #expect(try deployment.miisserver("sync2", ["history", "--keys"]).stdout.contains("generation 4  purge"))

        // Fail back: a backup on sync2, then miisactivate on sync1 (sync2 just became active, so
        // this planned fail back is forced, with its reason logged).
        let failbackKeys = deployment.root.file("failback.bin")
        let backupOnSync2 = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync2"), "-o", failbackKeys,
                                                           "--password-file", newPassword] + weak)
        #expect(backupOnSync2.status == 0, "\(backupOnSync2.stderr)")
        #expect(try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "sync1"]).status == 0)
        // The pre-rotation backup is stale now (miisactivate names both generations).
        let stale = try deployment.activate("sync1", keyFile: latest, password: "a new service password ✓", extra: ["--dry-run"])
        #expect(stale.status == 25, "\(stale.stderr)")
        #expect(stale.stderr.contains("is generation 1 but the deployment needs generation 4"), "\(stale.stderr)")
        let failback = try deployment.activate("sync1", keyFile: failbackKeys, password: "a new service password ✓",
                                               extra: ["--force", "--reason", "planned fail back after repair"])
        #expect(failback.status == 0, "\(failback.stderr)")
        #expect(try deployment.deploymentState().epoch == 3)
        #expect(try deployment.miisserver("sync1", ["check"]).status == 0)
        #expect(try deployment.miisserver("sync2", ["check"]).status == 28)
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
