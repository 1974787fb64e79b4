import Foundation
import Testing

/// Every check's failure: its exit code, its remedy, and that nothing changed.
@Suite(.serialized) struct MiisactivateRefusalTests {
    /// The deployment must be exactly as set up: epoch 1, sync1 active, no keys on the standby,
    /// and no activation in the log.
    private func expectUnchanged(_ deployment: DeploymentFixture, standby: String = "sync2",
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let state = try deployment.deploymentState()
        #expect(state.epoch == 1, sourceLocation: sourceLocation)
        #expect(state.active == "sync1", sourceLocation: sourceLocation)
        let keys = deployment.installDirectory(standby) + "/keys/keyset.bin"
        #expect(!FileManager.default.fileExists(atPath: keys), "keys were installed on \(standby)", sourceLocation: sourceLocation)
        let activations = try deployment.history(from: "sync1").filter { ($0["outcome"] as? String) == "activated" }
        #expect(activations.isEmpty, "\(activations)", sourceLocation: sourceLocation)
    }

    @Test func schemaMismatchIsException0x80230443() throws {
        let deployment = try DeploymentFixture(standbyVersion: "1.0.0")
        let result = try deployment.activate("sync2")
        #expect(result.status == 23)
        #expect(result.stderr.contains("Exception: 0x80230443"))
        #expect(result.stderr.contains("Update this standby"))
        try expectUnchanged(deployment)
        let log = try deployment.history(from: "sync1")
        #expect(log.contains { ($0["outcome"] as? String) == "refused" && ($0["server"] as? String) == "sync2" })
    }

    @Test func passwordSyncMustPointHereFirst() throws {
        let deployment = try DeploymentFixture()
        #expect(try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "sync1"]).status == 0)
        let refused = try deployment.activate("sync2")
        #expect(refused.status == 24)
        #expect(refused.stderr.contains("miisserver password-sync --enable --target sync2"))
        try expectUnchanged(deployment)
        #expect(try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "sync2"]).status == 0)
        #expect(try deployment.activate("sync2").status == 0)
    }

    @Test func wrongPasswordIsNotCorruption() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2", password: "not the password")
        #expect(result.status == 11)
        #expect(result.stderr.contains("wrong password"))
        try expectUnchanged(deployment)
    }

    @Test func corruptedAndTruncatedKeyFiles() throws {
        let deployment = try DeploymentFixture()
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: deployment.backup)))
        let flipped = deployment.root.file("flipped.bin")
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: flipped))
        chmod(flipped, 0o600)
        let corrupted = try deployment.activate("sync2", keyFile: flipped)
        #expect(corrupted.status == 10)
        #expect(corrupted.stderr.contains("whole-file SHA-256 checksum does not match"), "\(corrupted.stderr)")
        let truncated = deployment.root.file("truncated.bin")
        try Data(bytes.prefix(bytes.count - 40)).write(to: URL(fileURLWithPath: truncated))
        chmod(truncated, 0o600)
        let cut = try deployment.activate("sync2", keyFile: truncated)
        #expect(cut.status == 10)
        #expect(cut.stderr.contains("whole-file SHA-256 checksum does not match"), "\(cut.stderr)")
        let missing = try deployment.activate("sync2", keyFile: deployment.root.file("missing.bin"))
        #expect(missing.status == 15)
        #expect(missing.stderr.contains("missing.bin: cannot open: No such file or directory"), "\(missing.stderr)")
        try expectUnchanged(deployment)
    }

    @Test func staleKeyFileFromAnotherDeployment() throws {
        let deployment = try DeploymentFixture()
        let other = try DeploymentFixture()
        let result = try deployment.activate("sync2", keyFile: other.backup)
        #expect(result.status == 25)
        #expect(result.stderr.contains("stale"))
        try expectUnchanged(deployment)
    }

    @Test func livePrimaryNeedsForceWithReason() throws {
        let deployment = try DeploymentFixture()
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let refused = try deployment.activate("sync2")
        #expect(refused.status == 26)
        #expect(refused.stderr.contains("still alive"))
        #expect(refused.stderr.contains("--force --reason"))
        try expectUnchanged(deployment)
        let forced = try deployment.activate("sync2", extra: ["--force", "--reason", "primary host lost its disk"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let log = try deployment.history(from: "sync2")
        #expect(log.contains { ($0["detail"] as? String)?.contains("primary host lost its disk") == true })
    }

    @Test func groupWritableKeyFileIsRefusedReadableWarns() throws {
        let deployment = try DeploymentFixture()
        chmod(deployment.backup, 0o666)
        let writable = try deployment.activate("sync2")
        #expect(writable.status == 31)
        #expect(writable.stderr.contains("writable by group or others"), "\(writable.stderr)")
        try expectUnchanged(deployment)
        chmod(deployment.backup, 0o644)
        let warned = try deployment.activate("sync2")
        #expect(warned.status == 0)
        #expect(warned.stderr.contains("readable by group or others"))
    }

    @Test func unregisteredServerIsRefused() throws {
        let deployment = try DeploymentFixture()
        // sync9, set up in another deployment, then pointed at this deployment's database: a
        // valid installation of the right version that this database has never registered.
        let other = try DeploymentFixture(standbys: ["sync9"])
        let configuration = other.installDirectory("sync9") + "/server.json"
        var server = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configuration))) as? [String: Any])
        server["database"] = deployment.database
        try JSONSerialization.data(withJSONObject: server, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: configuration))
        let result = try ToolRunner.run("miisactivate", [deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf",
                                                         "--install-dir", other.installDirectory("sync9")],
                                        stdin: DeploymentFixture.password + "\n")
        #expect(result.status == 22, "\(result.stderr)")
        #expect(result.stderr.contains("server 'sync9' is not registered in this deployment"), "\(result.stderr)")
        try expectUnchanged(deployment)
        #expect(!FileManager.default.fileExists(atPath: other.installDirectory("sync9") + "/keys/keyset.bin"))
    }
}

/// Safety under concurrency and crashes.
@Suite(.serialized) struct MiisactivateSafetyTests {
    @Test func concurrentStandbysExactlyOneWins() throws {
        let standbys = (2...6).map { "sync\($0)" }
        let deployment = try DeploymentFixture(standbys: standbys)
        try deployment.expectExactlyOneWinner(among: standbys)
    }

    @Test func crashAfterInstallingKeysThenRerunConverges() throws {
        let deployment = try DeploymentFixture()
        let crashed = try deployment.activate("sync2", environment: ["MIIS_FAULT_POINT": "activate.after-keys-installed"])
        #expect(crashed.status == SIGKILL, "killed at the fault point: \(crashed.stderr)")
        #expect(try deployment.deploymentState().epoch == 1)
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try deployment.deploymentState().epoch == 2)
    }

    @Test func crashAfterCommitThenRerunDoesNotBumpTwice() throws {
        let deployment = try DeploymentFixture()
        let crashed = try deployment.activate("sync2", environment: ["MIIS_FAULT_POINT": "activate.after-commit"])
        #expect(crashed.status == SIGKILL, "killed at the fault point: \(crashed.stderr)")
        #expect(try deployment.deploymentState().epoch == 2)
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0)
        #expect(rerun.stdout.contains("already the active server"))
        #expect(try deployment.deploymentState().epoch == 2)
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
    }

    @Test func crashWhileWritingKeysLeavesOldOrNew() throws {
        let deployment = try DeploymentFixture()
        let crashed = try deployment.activate("sync2", environment: ["MIIS_FAULT_POINT": "atomic-write.before-rename"])
        #expect(crashed.status == SIGKILL, "killed at the fault point: \(crashed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: deployment.installDirectory("sync2") + "/keys/keyset.bin"))
        #expect(try deployment.deploymentState().epoch == 1)
        #expect(try deployment.activate("sync2").status == 0)
    }
}
