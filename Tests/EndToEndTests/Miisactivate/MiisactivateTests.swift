import Foundation
import Testing

/// `miisactivate` run as a built binary against real installations and a real SQLite database.
@Suite(.serialized) struct MiisactivateTests {
    @Test func activatesTheStandbyAndFencesTheOldPrimary() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Activated sync2"))
        #expect(result.stdout.contains("previous primary  sync1"))
        #expect(result.stdout.contains("new epoch         2"))
        let state = try deployment.deploymentState(from: "sync2")
        #expect(state.epoch == 2 && state.active == "sync2")
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 28)
        let keys = deployment.installDirectory("sync2") + "/keys/keyset.bin"
        #expect(try FileManager.default.attributesOfItem(atPath: keys)[.posixPermissions] as? Int == 0o600)
        let log = try deployment.history(from: "sync2")
        #expect(log.contains { ($0["outcome"] as? String) == "activated" && ($0["server"] as? String) == "sync2" })
        // The password appears nowhere: not in output, not in the database.
        #expect(!result.allOutput.contains(DeploymentFixture.password))
        let databaseBytes = try Data(contentsOf: URL(fileURLWithPath: deployment.database))
        #expect(databaseBytes.range(of: Data(DeploymentFixture.password.utf8)) == nil)
    }

    @Test func localAdminGroupGetsTheReferenceWarning() throws {
        let deployment = try DeploymentFixture(adminGroup: "root")
        let result = try deployment.activate("sync2")
        #expect(result.status == 0)
        #expect(result.stderr.contains("local group"))
        #expect(result.stderr.contains("miisserver repair --admin-group"))
    }

    @Test func alreadyActiveChangesNothing() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync1")
        #expect(result.status == 0)
        #expect(result.stdout.contains("already the active server"))
        #expect(try deployment.deploymentState().epoch == 1)
    }

    @Test func dryRunChecksEverythingAndChangesNothing() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2", extra: ["--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Dry run"))
        #expect(try deployment.deploymentState().epoch == 1)
        #expect(!FileManager.default.fileExists(atPath: deployment.installDirectory("sync2") + "/keys/keyset.bin"))
    }

    @Test func jsonReport() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2", extra: ["--json"])
        #expect(result.status == 0)
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(report?["schemaVersion"] as? Int == 1)
        #expect(report?["outcome"] as? String == "activated")
        #expect(report?["epoch"] as? Int == 2)
        #expect(report?["previousServer"] as? String == "sync1")
    }

    @Test func helpFollowsTheReference() throws {
        for flag in ["/?", "-h", "--help"] {
            let result = try ToolRunner.run("miisactivate", [flag])
            #expect(result.status == 0)
            #expect(result.stdout.contains("miisactivate [FileName] [UserName {Password | *}] [/q]"))
            #expect(result.stdout.contains("miisactivate miis_keys.bin FIMSyncAdmin '*'"))
            #expect(result.stdout.contains("Exception: 0x80230443"))
            #expect(result.stdout.contains("Exit codes"))
        }
    }

    @Test func usageErrorsExit64() throws {
        #expect(try ToolRunner.run("miisactivate", ["--force"]).status == 64)
        #expect(try ToolRunner.run("miisactivate", ["/x"]).status == 64)
        let deployment = try DeploymentFixture()
        // Quiet mode asks nothing: a missing password is an error, not a prompt.
        let result = try ToolRunner.run("miisactivate", [deployment.backup, DeploymentFixture.account, "/q",
                                                         "--install-dir", deployment.installDirectory("sync2")])
        #expect(result.status == 64)
        #expect(result.stderr.contains("quiet mode"))
    }

    @Test func literalPasswordWorksButWarns() throws {
        let deployment = try DeploymentFixture()
        let result = try ToolRunner.run("miisactivate", [deployment.backup, DeploymentFixture.account, DeploymentFixture.password,
                                                         "--install-dir", deployment.installDirectory("sync2"), "--dry-run", "--allow-weak-kdf"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("visible to other local users"))
        #expect(!result.allOutput.contains(DeploymentFixture.password))
    }

    @Test func findsItsInstallationFromBinAndEnvironment() throws {
        let deployment = try DeploymentFixture()
        let bin = deployment.installDirectory("sync2") + "/Bin"
        try? FileManager.default.removeItem(atPath: bin + "/miisactivate")
        // The installed name of the multi-call binary: a copy of the file the build's link names.
        let binary = URL(fileURLWithPath: ToolRunner.path(of: "miisactivate")).resolvingSymlinksInPath().path
        try FileManager.default.copyItem(atPath: binary, toPath: bin + "/miisactivate")
        let fromBin = try ToolRunner.run(bin + "/miisactivate", [deployment.backup, DeploymentFixture.account, "*", "/q", "--dry-run", "--allow-weak-kdf"],
                                         stdin: DeploymentFixture.password + "\n")
        #expect(fromBin.status == 0, "\(fromBin.stderr)")
        let fromEnvironment = try ToolRunner.run("miisactivate", [deployment.backup, DeploymentFixture.account, "*", "/q", "--dry-run", "--allow-weak-kdf"],
                                                 stdin: DeploymentFixture.password + "\n",
                                                 environment: ["MIIS_INSTALL_DIR": deployment.installDirectory("sync2")])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        let nowhere = try ToolRunner.run("miisactivate", [deployment.backup, DeploymentFixture.account, "*", "/q"],
                                         stdin: DeploymentFixture.password + "\n")
        #expect(nowhere.status == 21)
    }

    @Test func requiresRoot() throws {
        let deployment = try DeploymentFixture()
        let result = try ToolRunner.run("/usr/sbin/runuser", ["-u", "nobody", "--", ToolRunner.path(of: "miisactivate"),
                                                              deployment.backup, DeploymentFixture.account, "*", "/q",
                                                              "--install-dir", deployment.installDirectory("sync2")],
                                        stdin: DeploymentFixture.password + "\n")
        #expect(result.status == 20, "\(result.stderr)")
        #expect(result.stderr.contains("Local Administrator privileges are required"))
    }
}
