import Foundation
import Testing

/// Real multi-host deployments on PostgreSQL: separate installation directories stand for separate
/// hosts, sharing one database in the throwaway cluster that scripts/with-postgres.sh starts for
/// the README's test command. In CI a missing server fails these tests; they are never skipped there.
@Suite(.serialized) struct PostgresDeploymentTests {
    /// A fresh database for one test, and the environment the tools need to reach it.
    struct Database {
        let url: String
        let environment: [String: String]
    }

    static func freshDatabase(sourceLocation: SourceLocation = #_sourceLocation) throws -> Database? {
        let environment = ProcessInfo.processInfo.environment
        guard let base = environment["MIIS_TEST_POSTGRES_URL"], !base.isEmpty,
              let admin = environment["MIIS_TEST_POSTGRES_ADMIN_URL"], let password = environment["PGPASSWORD"] else {
            if !(environment["CI"] ?? "").isEmpty {
                Issue.record("MIIS_TEST_POSTGRES_URL is not set in CI: run the suite with make test (scripts/with-postgres.sh)",
                             sourceLocation: sourceLocation)
            } else {
                print("SKIPPED: PostgreSQL end-to-end tests need scripts/with-postgres.sh (make test)")
            }
            return nil
        }
        let name = "miis_e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let created = try ToolRunner.run("/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", admin, "-c", "CREATE DATABASE \(name) OWNER miis"],
                                         environment: ["PGPASSWORD": password])
        #expect(created.status == 0, "\(created.stderr)", sourceLocation: sourceLocation)
        guard let slash = base.lastIndex(of: "/") else { return nil }
        return Database(url: String(base[..<slash]) + "/" + name, environment: ["PGPASSWORD": password])
    }

    @Test func twoHostsFailoverFencingAndFailback() throws {
        guard let database = try Self.freshDatabase() else { return }
        let deployment = try DeploymentFixture(database: database.url, lease: 1, environment: database.environment)

        // The primary (host 1) heartbeats, then stops; after the deployment's 1 s lease, the standby
        // (host 2) takes over. --lease may lengthen the lease for one activation.
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        #expect(try deployment.activate("sync2", extra: ["--lease", "30"]).status == 26)
        Thread.sleep(forTimeInterval: 1.5)
        let failover = try deployment.activate("sync2")
        #expect(failover.status == 0, "\(failover.stderr)")
        #expect(try deployment.deploymentState(from: "sync2") == (2, "sync2"))

        // The old primary comes back: fenced.
        let check = try deployment.miisserver("sync1", ["check"])
        #expect(check.status == 28)
        #expect(check.stderr.contains("fenced"))
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 28)
        #expect(try deployment.miisserver("sync2", ["heartbeat"]).status == 0)

        // Fail back: a backup from host 2, host 2 stops, host 1 activates; host 2 is fenced in turn.
        let failbackKeys = deployment.root.file("failback.bin")
        let backup = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync2"), "-o", failbackKeys,
                                                    "--password-file", deployment.passwordFile] + DeploymentFixture.weakKDF,
                                        environment: database.environment)
        #expect(backup.status == 0, "\(backup.stderr)")
        Thread.sleep(forTimeInterval: 1.5)
        let failback = try deployment.activate("sync1", keyFile: failbackKeys)
        #expect(failback.status == 0, "\(failback.stderr)")
        #expect(try deployment.deploymentState(from: "sync1") == (3, "sync1"))
        #expect(try deployment.miisserver("sync1", ["check"]).status == 0)
        #expect(try deployment.miisserver("sync2", ["check"]).status == 28)
        let log = try deployment.history(from: "sync1")
        #expect(log.filter { ($0["outcome"] as? String) == "activated" }.count == 2)
        #expect(log.contains { ($0["outcome"] as? String) == "refused" })
    }

    @Test func sixteenStandbysAtOnceExactlyOneWins() throws {
        guard let database = try Self.freshDatabase() else { return }
        let standbys = (2...17).map { "sync\($0)" }
        let deployment = try DeploymentFixture(standbys: standbys, database: database.url, environment: database.environment)
        try deployment.expectExactlyOneWinner(among: standbys)
    }

    @Test func commitOutcomeUnknownRerunDoesNotBumpTwice() throws {
        guard let database = try Self.freshDatabase() else { return }
        let deployment = try DeploymentFixture(database: database.url, environment: database.environment)
        // Killed right after the commit: the client never learned the outcome.
        let crashed = try deployment.activate("sync2", environment: ["MIIS_FAULT_POINT": "activate.after-commit"])
        #expect(crashed.status == SIGKILL, "killed at the fault point: \(crashed.stderr)")
        let rerun = try deployment.activate("sync2")
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.contains("already the active server"))
        #expect(try deployment.deploymentState().epoch == 2)
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
    }

    /// The server ends a session left idle inside its transaction (5 s,
    /// `idle_in_transaction_session_timeout`); the write, paused 7 s before its COMMIT, then finds
    /// its connection closed. It must fail at once, saying nothing was written: postgres-nio drops
    /// a statement handed to a connection that has closed, and its caller would wait for ever
    /// (the store's watchdog only closes the connection, which is closed already).
    @Test func aWriteResumedAfterTheServerEndedItsSessionFailsAtOnce() throws {
        guard let database = try Self.freshDatabase() else { return }
        let deployment = try DeploymentFixture(database: database.url, environment: database.environment)
        let write = BackgroundRun {
            try ToolRunner.run("miisserver", ["secret", "set", "paused", "--allow-weak-kdf", "--password-file", deployment.passwordFile,
                                             "--install-dir", deployment.installDirectory("sync1")],
                               stdin: "value\n",
                               environment: database.environment.merging(["MIIS_FAULT_POINT": "postgres.before-commit:pause=7"]) { $1 })
        }
        let result = try #require(try write.wait(timeout: 30))
        #expect(result.status == 29, "\(result.stderr)")
        #expect(result.stderr.hasSuffix("nothing was written; run it again\n"), "\(result.stderr)")
        let count = try ToolRunner.run("/usr/bin/psql", ["-X", "-At", database.url, "-c", "SELECT count(*) FROM secrets WHERE name = 'paused'"],
                                       environment: database.environment)
        #expect(count.stdout == "0\n", "\(count.stderr)")
    }

    @Test func serverDownIsAClearErrorAndChangesNothing() throws {
        guard let database = try Self.freshDatabase() else { return }
        let deployment = try DeploymentFixture(database: database.url, environment: database.environment)
        // Host 2 loses the database (its configuration points at a port where nothing listens).
        let configuration = deployment.installDirectory("sync2") + "/server.json"
        let text = try String(contentsOfFile: configuration, encoding: .utf8)
        let unreachable = "postgres://miis@127.0.0.1:1/miis"
        try text.replacingOccurrences(of: database.url.replacingOccurrences(of: "/", with: "\\/"), with: unreachable.replacingOccurrences(of: "/", with: "\\/"))
            .replacingOccurrences(of: database.url, with: unreachable)
            .write(toFile: configuration, atomically: true, encoding: .utf8)
        let result = try deployment.activate("sync2")
        #expect(result.status == 29, "\(result.stderr)")
        #expect(result.stderr.contains("cannot connect to PostgreSQL"))
        #expect(!result.allOutput.contains(database.environment["PGPASSWORD"] ?? "-"))
        #expect(try deployment.deploymentState().epoch == 1)
    }
}
