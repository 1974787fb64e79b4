import Foundation
import Testing

/// `miisserver repair --database` (the same deployment's database at another location) and
/// `miisserver unregister NAME` (retiring a dead server), on SQLite; PostgreSQL in
/// PostgresMembershipTests.
@Suite(.serialized) struct MembershipTests {
    /// A copy of the SQLite database (with its WAL, if one is left) at `path`: the database "moved".
    static func copyDatabase(_ deployment: DeploymentFixture, to path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: deployment.database + suffix) {
            try FileManager.default.copyItem(atPath: deployment.database + suffix, toPath: path + suffix)
        }
    }

    static func configuredDatabase(_ deployment: DeploymentFixture, _ server: String) throws -> String? {
        let data = try Data(contentsOf: URL(fileURLWithPath: deployment.installDirectory(server) + "/server.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["database"] as? String
    }

    @Test func repairSwitchesToTheSameDeploymentElsewhere() throws {
        let deployment = try DeploymentFixture()
        let moved = deployment.root.file("moved.db")
        try Self.copyDatabase(deployment, to: moved)
        for server in ["sync2", "sync1"] {
            let repair = try deployment.miisserver(server, ["repair", "--database", moved])
            #expect(repair.status == 0, "\(server): \(repair.stderr)")
            #expect(repair.stdout.contains("database \(moved)"))
            #expect(try Self.configuredDatabase(deployment, server) == moved)
        }
        // The old file is gone: the primary heartbeats into the new one and the standby sees it.
        try FileManager.default.removeItem(atPath: deployment.database)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let status = try deployment.miisserver("sync2", ["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains(moved))
        let history = try deployment.history(from: "sync2")
        #expect(history.contains { ($0["detail"] as? String)?.contains("created the deployment") == true })
    }

    /// With the current database gone, the local facts (registration, installed key set, epoch held) decide, with a warning.
    @Test func repairWithTheCurrentDatabaseGoneWarns() throws {
        let deployment = try DeploymentFixture()
        let moved = deployment.root.file("restored.db")
        try Self.copyDatabase(deployment, to: moved)
        try FileManager.default.removeItem(atPath: deployment.database)
        let repair = try deployment.miisserver("sync1", ["repair", "--database", moved])
        #expect(repair.status == 0, "\(repair.stderr)")
        #expect(repair.stderr.contains("miisserver: warning: the current database"), "\(repair.stderr)")
        #expect(repair.stderr.contains("registration and installed key set only"), "\(repair.stderr)")
        #expect(try Self.configuredDatabase(deployment, "sync1") == moved)
    }

    @Test func repairRefusesAnotherDeploymentAndChangesNothing() throws {
        let deployment = try DeploymentFixture()
        let other = try DeploymentFixture()
        for server in ["sync1", "sync2"] {
            let repair = try deployment.miisserver(server, ["repair", "--database", other.database])
            #expect(repair.status == 29, "\(server): \(repair.stderr)")
            #expect(repair.stderr.contains("is not the database of this deployment"), "\(repair.stderr)")
            #expect(repair.stderr.contains("key set"))
            #expect(try Self.configuredDatabase(deployment, server) == deployment.database)
        }
        let lonely = try DeploymentFixture(standbys: [])
        let unregistered = try deployment.miisserver("sync2", ["repair", "--database", lonely.database])
        #expect(unregistered.status == 22, "\(unregistered.stderr)")
        #expect(unregistered.stderr.contains("server 'sync2' is not registered"), "\(unregistered.stderr)")

        let missing = try deployment.miisserver("sync2", ["repair", "--database", deployment.root.file("nonexistent.db")])
        #expect(missing.status == 29, "\(missing.stderr)")
        #expect(try Self.configuredDatabase(deployment, "sync2") == deployment.database)
    }

    /// An older copy (before a failover) would make a fenced server look active again: refused.
    @Test func repairRefusesAnOlderCopy() throws {
        let deployment = try DeploymentFixture()
        let oldCopy = deployment.root.file("before-failover.db")
        try Self.copyDatabase(deployment, to: oldCopy)
        let takeover = try deployment.activate("sync2", extra: ["--force", "--reason", "membership test"])
        #expect(takeover.status == 0, "\(takeover.stderr)")
        for server in ["sync1", "sync2"] {
            let repair = try deployment.miisserver(server, ["repair", "--database", oldCopy])
            #expect(repair.status == 29, "\(server): \(repair.stderr)")
            #expect(repair.stderr.contains("epoch 1"), "\(repair.stderr)")
        }
        // sync2 holds epoch 2 itself: refused on the local record alone, the current database gone.
        try FileManager.default.removeItem(atPath: deployment.database)
        let alone = try deployment.miisserver("sync2", ["repair", "--database", oldCopy])
        #expect(alone.status == 29, "\(alone.stderr)")
        #expect(alone.stderr.contains("older than epoch 2 this server was activated at"), "\(alone.stderr)")
    }

    @Test func unregisterRetiresADeadServerLogged() throws {
        let deployment = try DeploymentFixture(standbys: ["sync2", "sync3"])
        #expect(try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "sync3"]).status == 0)

        let retired = try deployment.miisserver("sync1", ["unregister", "sync3"])
        #expect(retired.status == 0, "\(retired.stderr)")
        #expect(retired.stdout.contains("Unregistered 'sync3'"))
        #expect(retired.stderr.contains("password synchronization is still directed to 'sync3'"), "\(retired.stderr)")
        let servers = (try deployment.status(from: "sync2")["servers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(servers.sorted() == ["sync1", "sync2"])
        let log = try deployment.history(from: "sync2")
        let row = try #require(log.first { ($0["detail"] as? String)?.contains("unregistered server 'sync3'") == true })
        #expect(row["outcome"] as? String == "changed")
        #expect(row["server"] as? String == "sync1")

        let active = try deployment.miisserver("sync2", ["unregister", "sync1"])
        #expect(active.status == 30, "\(active.stderr)")
        #expect(active.stderr.contains("active server"), "\(active.stderr)")
        let unknown = try deployment.miisserver("sync2", ["unregister", "sync3"])
        #expect(unknown.status == 22, "\(unknown.stderr)")
        #expect(try deployment.miisserver("sync1", ["status"]).stdout.contains("sync2"))
    }

    /// Server names typed by an administrator match without regard to case; a second server
    /// differing only in case is refused at setup; an unknown name's error lists the registered ones.
    @Test func serverNamesMatchWithoutRegardToCase() throws {
        let deployment = try DeploymentFixture(standbys: ["sync2", "sync3"])
        let sync = try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "SYNC3"])
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(sync.stdout == "Password synchronization enabled, target sync3.\n")

        let twin = try deployment.miisserver("sync4", ["setup", "--name", "Sync2", "--database", deployment.database, "--role", "standby",
                                                       "--account", DeploymentFixture.account, "--admin-group", "root"])
        #expect(twin.status == 30, "\(twin.stderr)")
        #expect(twin.stderr.contains("server name 'Sync2' differs from the registered server 'sync2' only in letter case; server names are matched without regard to case"),
                "\(twin.stderr)")

        let unknown = try deployment.miisserver("sync1", ["unregister", "sync9"])
        #expect(unknown.status == 22)
        #expect(unknown.stderr.contains("server 'sync9' is not registered in this deployment (registered: sync1, sync2, sync3)"), "\(unknown.stderr)")
        let target = try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "sync9"])
        #expect(target.status == 30)
        #expect(target.stderr.contains("password-sync target 'sync9' is not a registered server (registered: sync1, sync2, sync3)"), "\(target.stderr)")

        let retired = try deployment.miisserver("sync1", ["unregister", "SYNC3"])
        #expect(retired.status == 0, "\(retired.stderr)")
        #expect(retired.stderr.contains("password synchronization is still directed to 'sync3'"), "\(retired.stderr)")
        let servers = (try deployment.status(from: "sync2")["servers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(servers.sorted() == ["sync1", "sync2"])
    }
}
