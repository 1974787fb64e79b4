import Foundation
import Testing

/// `miisserver status` as an administrator reads it after a failover: every server's state judged
/// now, the role following the failover, a stale active server flagged, and the local state when
/// the database is gone.
@Suite struct StatusTableTests {
    func row(_ text: String, _ server: String) -> [Substring]? {
        text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
            .first { $0.first == Substring(server) || ($0.first == "*" && $0.dropFirst().first == Substring(server)) }
            .map { $0.first == "*" ? Array($0.dropFirst()) : $0 }
    }

    @Test func afterAFailoverRolesAndStatesFollowTheDeployment() throws {
        let deployment = try DeploymentFixture(standbys: ["sync2", "sync3"])
        #expect(try deployment.activate("sync2").status == 0)
        let text = try deployment.miisserver("sync1", ["status"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(row(text.stdout, "sync1") == ["sync1", "standby", "FENCED", "1.3.0", "never", "last", "active", "at", "epoch", "1"], "\(text.stdout)")
        #expect(row(text.stdout, "sync2")?.prefix(4) == ["sync2", "primary", "ACTIVE", "1.3.0"], "\(text.stdout)")
        #expect(row(text.stdout, "sync3")?.prefix(4) == ["sync3", "standby", "STANDBY", "1.3.0"], "\(text.stdout)")
        #expect(text.stdout.contains("\n*  sync1  "), "this server is marked: \(text.stdout)")
        #expect(text.stdout.contains("Active server:   sync2 at epoch 2"), "\(text.stdout)")
        let json = try deployment.status(from: "sync3")
        let servers = try #require(json["servers"] as? [[String: Any]])
        #expect(servers.map { $0["role"] as? String } == ["standby", "primary", "standby"])
        #expect(servers.map { $0["state"] as? String } == ["fenced", "active", "standby"])
        #expect(servers.map { $0["lastActiveEpoch"] as? Int } == [1, 2, nil])
        #expect(servers.map { $0["isThisServer"] as? Bool } == [false, false, true])
        #expect(servers.allSatisfy { $0["schemaMatches"] as? Bool == true })
        let keySet = try #require((json["deployment"] as? [String: Any])?["keySetID"] as? String)
        #expect(text.stdout.contains("Key set:         \(keySet.lowercased())"), "one letter case: \(text.stdout)")
        #expect(!text.stdout.contains(keySet.uppercased()))
    }

    @Test func aStaleActiveServerIsFlagged() throws {
        let deployment = try DeploymentFixture(lease: 0.5)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        Thread.sleep(forTimeInterval: 1)
        let text = try deployment.miisserver("sync2", ["status"])
        #expect(text.status == 0)
        #expect(row(text.stdout, "sync1")?.prefix(3) == ["sync1", "primary", "STALE"], "\(text.stdout)")
        #expect(text.stdout.contains("STALE, older than the lease: a standby may take over"), "\(text.stdout)")
        let json = try deployment.status(from: "sync2")
        #expect((json["deployment"] as? [String: Any])?["activeServerAlive"] as? Bool == false)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        #expect((try deployment.status(from: "sync2")["deployment"] as? [String: Any])?["activeServerAlive"] as? Bool == true)
    }

    @Test func withTheDatabaseGoneTheLocalStateIsShownAndTheExitIs29() throws {
        let deployment = try DeploymentFixture()
        try FileManager.default.moveItem(atPath: deployment.database, toPath: deployment.database + ".gone")
        let text = try deployment.miisserver("sync1", ["status"])
        #expect(text.status == 29)
        #expect(text.stderr.hasPrefix("miisserver: ") && text.stderr.split(separator: "\n").count == 1, "\(text.stderr)")
        #expect(text.stdout.contains("UNREACHABLE"), "\(text.stdout)")
        #expect(text.stdout.contains("This server:     sync1 (1.3.0) UNKNOWN"), "\(text.stdout)")
        #expect(text.stdout.contains("Activated epoch: 1") && text.stdout.contains("Keys installed:  yes (key set "), "\(text.stdout)")
        let json = try deployment.miisserver("sync1", ["status", "--json"])
        #expect(json.status == 29)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(document["databaseReachable"] as? Bool == false)
        #expect((document["installation"] as? [String: Any])?["activatedEpoch"] as? Int == 1)
    }
}
