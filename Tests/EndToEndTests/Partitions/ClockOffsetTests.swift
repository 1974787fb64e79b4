import Foundation
import Testing

/// Clocks that disagree (issue 15: "clock offsets passed to the tools where they read time"):
/// hosts whose wall clock is an hour off, and a database node whose clock is ahead, with
/// libfaketime (``FakeClock``) preloaded into the tools and into the database server. The
/// protocol measures liveness by the database's clock only, so a host's clock changes no
/// decision; the offsets are reported (``ClockOffset``), and the invariants hold throughout.
@Suite(.serialized) struct ClockOffsetTests {
    @Test func hostClocksAnHourOffChangeNoLeaseDecision() throws {
        guard let behind = FakeClock.environment(offset: -3600), let ahead = FakeClock.environment(offset: 3600),
              let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2", "sync3"], lease: 3) else { return }
        deployment.clocks = ["sync1": behind, "sync2": ahead]
        deployment.faults += 2

        // The primary's clock is an hour behind: its heartbeat is still fresh (the database's now()).
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let status = try deployment.miisserver("sync2", ["status", "--json"])
        let database = try #require((try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["database"] as? [String: Any])
        let offset = try #require(database["clockOffsetSeconds"] as? Double)
        #expect(abs(offset + 3600) < 30, "the database is an hour behind sync2's clock: \(offset)")
        #expect(status.stderr.isEmpty, "--json warns in the document only")
        let text = try deployment.miisserver("sync2", ["status"])
        #expect(text.stderr.contains("miisserver: warning: the database server's clock is 3600 s behind this host's"), "\(text.stderr)")

        // The standby's clock is an hour ahead: the primary's heartbeat is not an hour old to it.
        let early = try deployment.activate("sync2")
        #expect(early.status == 26, "\(early.stderr)")
        #expect(early.stderr.hasPrefix("miisactivate: the current primary sync1 sent a heartbeat 0 s ago"), "\(early.stderr)")

        // Once the lease ran out by the database's clock, the takeover happens, and it warns.
        Thread.sleep(forTimeInterval: 3.5)
        let takeover = try deployment.activate("sync2")
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(takeover.stderr.contains("warning: the database server's clock is 3600 s behind this host's"), "\(takeover.stderr)")
        // The installation records the database's time of the switch, not its own clock's.
        let record = try Data(contentsOf: URL(fileURLWithPath: deployment.installDirectory("sync2") + "/keys/activation.json"))
        let activatedAt = try #require(InvariantChecker.dates((try JSONSerialization.jsonObject(with: record) as? [String: Any])?["activatedAt"]))
        #expect(abs(activatedAt.timeIntervalSinceNow) < 60, "activation.json says \(activatedAt)")
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 28)
        let observation = try InvariantChecker.expectHolds(deployment, "host clocks an hour off")
        #expect(observation.epoch == 2)
    }

    /// The database's standby node runs 120 s ahead. After the database failover every heartbeat
    /// written on the old node looks 120 s older: with a lease shorter than that, a standby may take
    /// over at once although the primary heartbeated a moment ago. That is what clocks out of step
    /// between database nodes cost (docs/partitions.md, "Clocks"): the lease, never the fencing.
    /// The takeover's report says the database's clock is 120 s ahead, the old primary is fenced,
    /// and the invariants hold.
    @Test func aDatabaseNodeWhoseClockIsAheadAgesHeartbeatsAcrossAFailover() throws {
        guard let ahead = FakeClock.environment(offset: 120),
              let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2"], lease: 30,
                                                               databaseClocks: [.second: ahead]) else { return }
        deployment.faults += 1
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let refused = try deployment.activate("sync2")
        #expect(refused.status == 26, "\(refused.stderr)")

        try deployment.database.kill(.first)
        try deployment.database.promote(.second)
        deployment.faults += 2
        let takeover = try deployment.activate("sync2")
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(takeover.stderr.contains("warning: the database server's clock is 120 s ahead of this host's"), "\(takeover.stderr)")
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 28)
        let observation = try InvariantChecker.expectHolds(deployment, "database node clock ahead")
        #expect(observation.epoch == 2 && observation.activations == 1)
    }
}
