import Foundation
import Testing

/// A deployment whose database is a replicated PostgreSQL pair (ReplicatedPostgres): the tools
/// reach the writable server of a multi-host URL, follow a database failover (`pg_ctl promote`),
/// and with synchronous replication an acknowledged activation survives it. docs/postgresql.md,
/// "Replicated databases", describes what these tests prove.
@Suite(.serialized) struct DatabaseFailoverTests {
    /// Rewrites the database URL in `server`'s server.json (the installation on another host
    /// being configured differently).
    static func setDatabase(_ url: String, of server: String, in deployment: DeploymentFixture) throws {
        let path = deployment.installDirectory(server) + "/server.json"
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        guard var configuration = object as? [String: Any] else { throw ReplicatedPostgres.PairError.failed("server.json") }
        configuration["database"] = url
        try JSONSerialization.data(withJSONObject: configuration, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
    }

    @Test func multiHostURLReachesThePrimaryThenThePromotedStandby() throws {
        guard let pair = try ReplicatedPostgres.start(synchronous: true) else { return }
        // The standby is listed first: target_session_attrs=read-write passes it by.
        let url = pair.url()
        let deployment = try DeploymentFixture(database: url, lease: 1, environment: pair.environment)
        #expect(try deployment.deploymentState() == (1, "sync1"))
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)

        // Without target_session_attrs (libpq's "any") the first server that answers is used: the
        // standby, which refuses writes, and the tool says what to change.
        try Self.setDatabase(pair.url(targetSessionAttributes: nil), of: "sync1", in: deployment)
        let readOnly = try deployment.miisserver("sync1", ["heartbeat"])
        #expect(readOnly.status == 29, "\(readOnly.stderr)")
        #expect(readOnly.stderr.contains("is read-only (a hot standby?): list the primary in the URL, or add target_session_attrs=read-write"),
                "\(readOnly.stderr)")
        try Self.setDatabase(url, of: "sync1", in: deployment)

        // The database primary is lost and its standby promoted: the same URL now reaches node2.
        try pair.kill(.first)
        try pair.promote(.second)
        let heartbeat = try deployment.miisserver("sync1", ["heartbeat"])
        #expect(heartbeat.status == 0, "\(heartbeat.stderr)")
        #expect(try pair.sql(.second, "SELECT pg_is_in_recovery()") == "f")
        Thread.sleep(forTimeInterval: 1.5)
        let activation = try deployment.activate("sync2")
        #expect(activation.status == 0, "\(activation.stderr)")
        #expect(try deployment.deploymentState(from: "sync2") == (2, "sync2"))
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
        #expect(try pair.sql(.second, "SELECT active_server || ' ' || epoch FROM deployment") == "sync2 2")
    }

    @Test func noServerFitsNamesEveryServer() throws {
        guard let pair = try ReplicatedPostgres.start() else { return }
        let deployment = try DeploymentFixture(database: pair.url(), environment: pair.environment)
        try pair.kill(.first)
        let result = try deployment.miisserver("sync1", ["heartbeat"])
        #expect(result.status == 29, "\(result.stderr)")
        let standby = "127.0.0.1:\(pair.ports[.second] ?? 0)", primary = "127.0.0.1:\(pair.ports[.first] ?? 0)"
        #expect(result.stderr == "miisserver: no usable PostgreSQL server in \(standby),\(primary)/miis (target_session_attrs=read-write): "
                + "\(standby) is a hot standby (in recovery); cannot connect to PostgreSQL at \(primary)/miis: connection refused\n",
                "\(result.stderr)")
    }

    /// The COMMIT of the activation reaches the database, its answer does not (the fault point
    /// `postgres.after-commit:error` stands for the lost connection): exit 29, "outcome unknown:
    /// run it again", and the re-run converges without a second epoch.
    @Test func commitOutcomeUnknownReportsItAndTheRerunConverges() throws {
        guard let pair = try ReplicatedPostgres.start(synchronous: true) else { return }
        let deployment = try DeploymentFixture(database: pair.url(), lease: 1, environment: pair.environment)
        Thread.sleep(forTimeInterval: 1.5)
        let unknown = try deployment.activate("sync2", environment: ["MIIS_FAULT_POINT": "postgres.after-commit:error"])
        #expect(unknown.status == 29, "\(unknown.stderr)")
        #expect(unknown.stderr.hasSuffix("during COMMIT: outcome unknown: run it again\n"), "\(unknown.stderr)")
        #expect(unknown.stderr.split(separator: "\n").count == 1, "\(unknown.stderr)")
        #expect(try deployment.deploymentState() == (2, "sync2"))
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("already the active server"), "\(rerun.stdout)")
        #expect(try deployment.deploymentState() == (2, "sync2"))
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
        #expect(try deployment.history(from: "sync2").filter { ($0["outcome"] as? String) == "activated" }.count == 1)
    }

    /// A real lost COMMIT: with synchronous replication and the standby down, the activation's
    /// COMMIT waits on the primary for a standby that never confirms; the primary then crashes.
    /// The client cannot know whether it committed: exit 29, "outcome unknown: run it again".
    /// The standby, back and promoted, never saw it, and the re-run activates once.
    @Test func commitLostWithTheDatabasePrimaryIsOutcomeUnknown() throws {
        guard let pair = try ReplicatedPostgres.start(synchronous: true) else { return }
        let deployment = try DeploymentFixture(database: pair.url(), lease: 1, environment: pair.environment)
        try pair.stop(.second)
        Thread.sleep(forTimeInterval: 1.5)
        let box = StatusBox()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            let result = try? deployment.activate("sync2")
            box.append(result?.status ?? -1, result?.stderr ?? "")
        }
        // Bounded wait for the COMMIT to be waiting for the standby's confirmation.
        #expect(pair.poll(.first, "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'", until: "1"),
                "the activation's COMMIT never waited for the standby")
        try pair.kill(.first)
        #expect(group.wait(timeout: .now() + 90) == .success)
        #expect(box.values == [29], "\(box.messages)")
        #expect(box.messages.hasSuffix("during COMMIT: outcome unknown: run it again\n"), "\(box.messages)")
        try pair.startAgain(.second)
        try pair.promote(.second)
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try deployment.deploymentState() == (2, "sync2"))
        #expect(try deployment.history(from: "sync2").filter { ($0["outcome"] as? String) == "activated" }.count == 1)
    }

    /// Synchronous replication: miisactivate's exit 0 means the standby database holds the
    /// activation, so a crash of the database primary right after it loses nothing.
    @Test func synchronousReplicationKeepsAnAcknowledgedActivation() throws {
        guard let pair = try ReplicatedPostgres.start(synchronous: true) else { return }
        let deployment = try DeploymentFixture(database: pair.url(), lease: 1, environment: pair.environment)
        Thread.sleep(forTimeInterval: 1.5)
        let activation = try deployment.activate("sync2")
        #expect(activation.status == 0, "\(activation.stderr)")
        try pair.kill(.first)
        try pair.promote(.second)
        #expect(try deployment.deploymentState(from: "sync2") == (2, "sync2"))
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
        #expect(try deployment.history(from: "sync2").filter { ($0["outcome"] as? String) == "activated" }.count == 1)
    }

    /// What asynchronous replication can lose, shown on purpose (docs/postgresql.md): the standby
    /// database is behind (here: down) when the activation commits on the primary, the primary
    /// crashes, the standby is promoted, and the acknowledged activation is gone: the database
    /// names the old server again, which passes its check, while the standby that was told
    /// "activated" is not active. Synchronous replication is what prevents this.
    @Test func asynchronousReplicationCanLoseAnAcknowledgedActivation() throws {
        guard let pair = try ReplicatedPostgres.start(synchronous: false) else { return }
        let deployment = try DeploymentFixture(database: pair.url(), lease: 1, environment: pair.environment)
        // Let the standby replay the setup, then take it away before the activation.
        #expect(pair.poll(.second, "SELECT count(*) FROM deployment", until: "1"))
        try pair.stop(.second)
        Thread.sleep(forTimeInterval: 1.5)
        let activation = try deployment.activate("sync2")
        #expect(activation.status == 0, "\(activation.stderr)")
        try pair.kill(.first)
        try pair.startAgain(.second)
        try pair.promote(.second)
        #expect(try deployment.deploymentState(from: "sync1") == (1, "sync1"))
        #expect(try deployment.miisserver("sync2", ["check"]).status == 28)
    }

    /// `status` names the replication mode (`database.replication`) and warns, as `miisactivate`
    /// does, when a standby streams asynchronously (a failover can lose what was acknowledged);
    /// set synchronous, no warning; synchronous with the standby gone, a warning that every write
    /// waits. The tools' role (`miis`) is not privileged: it counts the standby without seeing
    /// whether it is synchronous.
    @Test func statusAndActivationTellTheReplicationMode() throws {
        guard let pair = try ReplicatedPostgres.start(synchronous: false) else { return }
        let deployment = try DeploymentFixture(database: pair.url(), lease: 1, environment: pair.environment)
        #expect(pair.poll(.first, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", until: "1"))
        func replication(_ server: String) throws -> [String: Any]? {
            let status = try deployment.miisserver(server, ["status", "--json"])
            let report = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
            return (report?["database"] as? [String: Any])?["replication"] as? [String: Any]
        }
        let asynchronous = try #require(try replication("sync1"))
        #expect(asynchronous["mode"] as? String == "asynchronous")
        #expect(asynchronous["standbys"] as? Int == 1)
        #expect(asynchronous["synchronousStandbys"] == nil)
        #expect(asynchronous["synchronousStandbyNames"] as? String == "")
        let text = try deployment.miisserver("sync1", ["status"])
        #expect(text.stdout.contains("Replication:     asynchronous, 1 standby server connected\n"), "\(text.stdout)")
        let lossWarning = "database replication is asynchronous (1 standby server): if the database primary fails before a standby received them, "
            + "the last acknowledged commits (an activation, a secret) are lost"
        #expect(text.stderr.contains(lossWarning), "\(text.stderr)")
        Thread.sleep(forTimeInterval: 1.5)
        let activation = try deployment.activate("sync2")
        #expect(activation.status == 0, "\(activation.stderr)")
        #expect(activation.stderr.contains(lossWarning), "\(activation.stderr)")

        try pair.setSynchronous(true)
        let synchronous = try #require(try replication("sync2"))
        #expect(synchronous["mode"] as? String == "synchronous")
        let quiet = try deployment.miisserver("sync2", ["status"])
        #expect(quiet.stdout.contains("Replication:     synchronous, synchronous_standby_names '*', 1 standby server connected\n"), "\(quiet.stdout)")
        #expect(!quiet.stderr.contains("replication"), "\(quiet.stderr)")

        try pair.stop(.second)
        let waiting = try deployment.miisserver("sync2", ["status"])
        #expect(waiting.stderr.contains("synchronous replication is configured (synchronous_standby_names = '*') but no standby server is streaming: "
                                        + "PostgreSQL holds every commit until one is"), "\(waiting.stderr)")
    }
}
