import Foundation
import Testing

/// Issue 15's scenarios on hosts in network namespaces (NetnsCluster): sync servers and a
/// synchronously replicated PostgreSQL pair on their own hosts, faults injected between them,
/// and the five invariants (InvariantChecker) checked after every run. docs/partitions.md lists
/// what they prove and how `make chaos` runs the randomized one for longer.
@Suite(.serialized) struct PartitionScenarioTests {
    /// The active primary loses the database (it keeps running): its heartbeats fail, a standby
    /// takes over once the lease ran out, the partition heals, and the old primary is fenced: its
    /// heartbeat and its secret write are refused, its check fails.
    @Test func primaryPartitionedFromTheDatabaseIsFencedAfterTheHeal() throws {
        guard let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2"], lease: 2) else { return }
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        try deployment.cluster.partition("sync1", from: PartitionedDeployment.databaseHosts)
        deployment.faults += 1
        let cut = try deployment.miisserver("sync1", ["heartbeat"])
        #expect(cut.status == 29, "\(cut.stderr)")
        #expect(cut.stderr.contains("timed out after 2 s"), "\(cut.stderr)")
        // The primary's last heartbeat is older than the lease: the standby may take over.
        Thread.sleep(forTimeInterval: 2.5)
        let takeover = try deployment.activate("sync2")
        #expect(takeover.status == 0, "\(takeover.stderr)")

        try deployment.cluster.fault("heal", "sync1")
        let heartbeat = try deployment.miisserver("sync1", ["heartbeat"])
        #expect(heartbeat.status == 28, "\(heartbeat.stderr)")
        #expect(heartbeat.stderr.contains("fenced"), "\(heartbeat.stderr)")
        let secret = try deployment.miisserver("sync1", ["secret", "set", "ldap", "--allow-weak-kdf", "--password-file", deployment.passwordFile], stdin: "value\n")
        #expect(secret.status == 28, "\(secret.stderr)")
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
        #expect(try deployment.miisserver("sync2", ["heartbeat"]).status == 0)
        let observation = try InvariantChecker.expectHolds(deployment, "partitioned primary")
        #expect(observation.epoch == 2)
    }

    /// Two standbys activated at the same moment while 10 % of their packets are lost and their
    /// connections delayed 20 ms each way (scripts/delay-relay.py): exactly one wins, the other is
    /// told another server became active (27), or could not reach the database at all (29); never
    /// two winners.
    @Test func twoStandbysAtOnceOverALossyNetworkExactlyOneWins() throws {
        // A 10 s lease: the loser, even slowed by lost packets, finds the winner's activation
        // younger than the lease, else it could legitimately take over at epoch 3. With 5 s, a
        // loser in CI (2026-12-07) read the deployment about 5 s after the win.
        guard let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2", "sync3"], lease: 10) else { return }
        for standby in ["sync2", "sync3"] {
            try deployment.cluster.fault("loss", standby, ["10"])
            try deployment.cluster.fault("delay", standby, ["20"])
            deployment.faults += 1
        }
        Thread.sleep(forTimeInterval: 10.5)
        let statuses = StatusBox()
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let result = try? deployment.activate(["sync2", "sync3"][index])
            statuses.append(result?.status ?? -1, result?.stderr ?? "")
        }
        #expect(statuses.values.filter { $0 == 0 }.count == 1, "\(statuses.messages)")
        #expect(Set(deployment.acknowledged.map(\.epoch)).count == deployment.acknowledged.count, "two winners at one epoch")
        #expect(statuses.values.allSatisfy { [0, 27, 29].contains($0) }, "\(statuses.messages)")
        for standby in ["sync2", "sync3"] { try deployment.cluster.fault("heal", standby) }
        let observation = try InvariantChecker.expectHolds(deployment, "two standbys")
        #expect(observation.epoch == 2 && observation.activations == 1)
    }

    /// The database primary is killed while an activation runs, and its standby promoted: the
    /// activation took effect exactly once or not at all, and running it again converges.
    ///
    /// With the kill 50 ms into the activation, the activation sometimes outlived the 120 s bound
    /// (recorded as a known issue until `PostgresConnection.fetch`). The likely cause, the one
    /// that fix removes: the session broke inside a transaction, and the ROLLBACK postgres-nio's
    /// `withTransaction` then sent went to the closed connection, which drops a statement without
    /// an answer, so the tool waited for ever. Since that fix it passed 12 runs of 12 (2026-12-07,
    /// 8 of them beside a running `make chaos`), so it is an ordinary test again.
    @Test(arguments: [0.05, 0.3])
    func databasePrimaryKilledDuringAnActivation(_ delay: Double) throws {
        try killTheDatabasePrimary(during: delay)
    }

    private func killTheDatabasePrimary(during delay: Double) throws {
        guard let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2"], lease: 1) else { return }
        Thread.sleep(forTimeInterval: 1.5)
        let first = StatusBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            let result = try? deployment.activate("sync2")
            first.append(result?.status ?? -1, result?.stderr ?? "")
        }
        Thread.sleep(forTimeInterval: delay)
        try deployment.database.kill(.first)
        try deployment.database.promote(.second)
        deployment.faults += 2
        #expect(group.wait(timeout: .now() + 120) == .success, "the activation did not end")
        #expect(first.values.allSatisfy { [0, 29].contains($0) }, "\(first.messages)")
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let observation = try InvariantChecker.expectHolds(deployment, "database primary killed after \(delay) s")
        #expect(observation.epoch == 2 && observation.activations == 1, "\(first.messages)")
    }
}
