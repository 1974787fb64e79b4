import Foundation
import Testing

/// Issue 15's "a standby partitioned away during its own activation (before, at, after COMMIT)"
/// and "SIGSTOP of a tool in flight", on hosts in network namespaces (PartitionedDeployment). The
/// tool stops itself at an exact moment (`MIIS_FAULT_POINT=NAME:stop`, StoppedTool), the test
/// injects its fault, then resumes it. docs/partitions.md lists what they prove.
@Suite(.serialized) struct OwnActivationPartitionTests {
    static let stopBeforeCommit = ["MIIS_FAULT_POINT": "postgres.before-commit:stop"]
    /// What a transaction the database ended while its client was stopped (or cut off) reports.
    static let endedIdle = "ended the transaction after 5 s idle (idle_in_transaction_session_timeout): nothing was written; run it again\n"
    /// The same, when the tool's event loop saw the connection close before the tool, resumed,
    /// came to send its next statement (which one of the two the tool hears is a race on resume).
    static let closedBeforeSent = "had closed before the next statement was sent: nothing was written; run it again\n"
    static func endedBeforeCommit(_ stderr: String) -> Bool {
        stderr.hasSuffix(endedIdle) || stderr.hasSuffix(closedBeforeSent)
    }
    static let outcomeUnknown = "during COMMIT: outcome unknown: run it again\n"

    /// One deployment, three activations, each cut off from the database at another moment:
    ///
    /// - before COMMIT: sync2 holds the deployment row FOR UPDATE in its open transaction when it
    ///   is stopped and partitioned away. The database ends that idle transaction, so sync3 takes
    ///   over meanwhile (before the fix sync3 failed on its lock timeout: the dead session kept the
    ///   row until TCP keepalive, about two hours); once healed, sync2 ends with 29 and nothing of
    ///   it was committed.
    /// - at COMMIT: sync2's COMMIT reaches the database, the answer does not (incoming packets
    ///   dropped): 29 "outcome unknown: run it again" (before the fix the watchdog's "did not
    ///   answer" won), and the re-run converges: "already the active server", one epoch.
    /// - after COMMIT: sync3 is cut off right after its COMMIT returned; nothing after it needs the
    ///   database: exit 0, sync3 active.
    @Test func standbyPartitionedDuringItsOwnActivation() throws {
        guard let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2", "sync3"], lease: 1) else { return }
        Thread.sleep(forTimeInterval: 1.5)

        // Before COMMIT. (A 30 s watchdog bounds sync2's wait for an answer once healed.)
        let cutBefore = BackgroundRun {
            try deployment.activate("sync2", environment: Self.stopBeforeCommit.merging(["MIIS_TEST_POSTGRES_OPERATION_TIMEOUT": "30"]) { $1 })
        }
        let stoppedBefore = try #require(StoppedTool.wait(for: "miisactivate", arguments: [deployment.installDirectory("sync2")]))
        try deployment.cluster.partition("sync2", from: PartitionedDeployment.databaseHosts)
        deployment.faults += 2
        stoppedBefore.resume()
        let started = Date()
        let takeover = try deployment.activate("sync3")
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(Date().timeIntervalSince(started) < 20, "the takeover waited \(Date().timeIntervalSince(started)) s")
        try deployment.cluster.fault("heal", "sync2")
        let before = try #require(try cutBefore.wait(timeout: 60))
        #expect(before.status == 29, "\(before.stderr)")
        #expect(Self.endedBeforeCommit(before.stderr) || before.stderr.hasSuffix(Self.outcomeUnknown), "\(before.stderr)")
        #expect(before.stderr.split(separator: "\n").count == 1, "\(before.stderr)")
        let afterBefore = try InvariantChecker.expectHolds(deployment, "before COMMIT")
        #expect(afterBefore.epoch == 2 && afterBefore.activations == 1, "sync2's cut-off activation was committed")

        // At COMMIT: the COMMIT goes out, its answer is dropped; an 8 s watchdog ends the wait.
        Thread.sleep(forTimeInterval: 1.5)
        let cutAt = BackgroundRun {
            try deployment.activate("sync2", environment: Self.stopBeforeCommit.merging(["MIIS_TEST_POSTGRES_OPERATION_TIMEOUT": "8"]) { $1 })
        }
        let stoppedAt = try #require(StoppedTool.wait(for: "miisactivate", arguments: [deployment.installDirectory("sync2")]))
        for host in PartitionedDeployment.databaseHosts { try deployment.cluster.fault("drop", "sync2", [host, "in"]) }
        deployment.faults += 1
        stoppedAt.resume()
        let at = try #require(try cutAt.wait(timeout: 60))
        #expect(at.status == 29, "\(at.stderr)")
        #expect(at.stderr.hasSuffix("did not answer within 8 s " + Self.outcomeUnknown), "\(at.stderr)")
        #expect(at.stderr.split(separator: "\n").count == 1, "\(at.stderr)")
        try deployment.cluster.fault("heal", "sync2")
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(rerun.stdout.utf8)) as? [String: Any]
        #expect(report?["outcome"] as? String == "alreadyActive", "\(rerun.stdout)")
        let afterAt = try InvariantChecker.expectHolds(deployment, "at COMMIT")
        #expect(afterAt.epoch == 3 && afterAt.activations == 2)

        // After COMMIT: cut off once the database switched; the rest is local.
        Thread.sleep(forTimeInterval: 1.5)
        let cutAfter = BackgroundRun {
            try deployment.activate("sync3", environment: ["MIIS_FAULT_POINT": "activate.after-commit:stop"])
        }
        let stoppedAfter = try #require(StoppedTool.wait(for: "miisactivate", arguments: [deployment.installDirectory("sync3")]))
        try deployment.cluster.partition("sync3", from: PartitionedDeployment.databaseHosts)
        deployment.faults += 1
        stoppedAfter.resume()
        let after = try #require(try cutAfter.wait(timeout: 60))
        #expect(after.status == 0, "\(after.stderr)")
        try deployment.cluster.fault("heal", "sync3")
        let afterAfter = try InvariantChecker.expectHolds(deployment, "after COMMIT")
        #expect(afterAfter.epoch == 4 && afterAfter.activations == 3)
        #expect(try deployment.miisserver("sync3", ["check"]).status == 0)
    }

    /// The old primary's heartbeat is stopped in flight, holding the deployment row FOR SHARE in
    /// its open transaction; the lease runs out and a standby takes
    /// over within a bounded time (before the fix it failed on its lock timeout: the stopped
    /// sessions never ended). Resumed, the heartbeat is refused and not committed; a secret write after it is fenced.
    @Test func writersStoppedInFlightAreRefusedAfterTheTakeover() throws {
        guard let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2"], lease: 1) else { return }
        let installDirectory = deployment.installDirectory("sync1")
        let heartbeat = BackgroundRun { try deployment.miisserver("sync1", ["heartbeat"], environment: Self.stopBeforeCommit) }
        let stoppedHeartbeat = try #require(StoppedTool.wait(for: "miisserver", arguments: ["heartbeat", installDirectory]))
        deployment.faults += 1
        Thread.sleep(forTimeInterval: 1.5)
        let started = Date()
        let takeover = try deployment.activate("sync2")
        #expect(takeover.status == 0, "\(takeover.stderr)")
        #expect(Date().timeIntervalSince(started) < 20, "the takeover waited \(Date().timeIntervalSince(started)) s")

        stoppedHeartbeat.resume()
        let result = try #require(try heartbeat.wait(timeout: 60))
        #expect(result.status == 29, "\(result.stderr)")
        #expect(Self.endedBeforeCommit(result.stderr), "\(result.stderr)")
        // The fenced write after the takeover is refused too (the secret never reaches the database).
        let secret = try deployment.miisserver("sync1", ["secret", "set", "ldap", "--allow-weak-kdf", "--password-file", deployment.passwordFile],
                                               stdin: "value\n")
        #expect(secret.status == 28, "\(secret.stderr)")
        #expect(try deployment.database.sql(.first, "SELECT count(*) FROM secrets WHERE name = 'ldap'") == "0")
        #expect(try deployment.miisserver("sync1", ["check"]).status == 28)
        let observation = try InvariantChecker.expectHolds(deployment, "writers stopped in flight")
        #expect(observation.epoch == 2 && observation.activations == 1)
    }

    /// A secret write stopped in flight (its row written, FOR SHARE held, not committed) while a
    /// standby takes over: resumed, it must be refused with "nothing was written" and the secret
    /// must not be in the database. Before the fix (`PostgresConnection.fetch`) the resumed tool
    /// most often waited for ever: its event loop had seen the server close the session, and
    /// postgres-nio dropped the COMMIT handed to the closed connection without a word.
    @Test func aSecretWriteStoppedInFlightIsRefusedAfterTheTakeover() throws {
        guard let deployment = try PartitionedDeployment.start(servers: ["sync1", "sync2"], lease: 1) else { return }
        let write = BackgroundRun {
            try deployment.miisserver("sync1", ["secret", "set", "inflight", "--allow-weak-kdf", "--password-file", deployment.passwordFile],
                                      stdin: "value\n", environment: Self.stopBeforeCommit)
        }
        let stopped = try #require(StoppedTool.wait(for: "miisserver", arguments: ["secret", "inflight", deployment.installDirectory("sync1")]))
        deployment.faults += 1
        Thread.sleep(forTimeInterval: 1.5)
        let takeover = try deployment.activate("sync2")
        #expect(takeover.status == 0, "\(takeover.stderr)")
        stopped.resume()
        if let result = try write.wait(timeout: 20) {
            #expect(result.status == 29, "\(result.stderr)")
            #expect(Self.endedBeforeCommit(result.stderr), "\(result.stderr)")
        } else {
            // Only a tool still waiting: once it ended, its pid may belong to another process.
            kill(stopped.pid, SIGKILL)
        }
        #expect(try deployment.database.sql(.first, "SELECT count(*) FROM secrets WHERE name = 'inflight'") == "0")
        let observation = try InvariantChecker.expectHolds(deployment, "a secret write stopped in flight")
        #expect(observation.epoch == 2 && observation.activations == 1)
    }
}
