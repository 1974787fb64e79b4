import Deployment
import Foundation
import KeyFile
import Logging
import PostgresNIO
import Testing

/// No call hangs: a row lock held by another session ends in a clear `.database` error.
@Suite("PostgreSQL store: timeouts (real server)")
struct PostgresTimeoutTests {
    @Test func lockHeldByAnotherSessionTimesOut() async throws {
        try await PostgresTestServer.withStore { store, url in
            try await PostgresSamples.setUp(store)
            // Another session holds the deployment row (an administrator's open transaction).
            let location = try PostgresLocation(url: url)
            guard case .tcp(let host, let port) = location.endpoint else { return }
            let other = try await PostgresConnection.connect(
                configuration: .init(host: host, port: port, username: location.username,
                                     password: PostgresTestServer.environment["PGPASSWORD"], database: location.database, tls: .disable),
                id: 7, logger: PostgresTestServer.logger)
            do {
                try await other.query("BEGIN", logger: PostgresTestServer.logger)
                try await other.query("SELECT epoch FROM deployment WHERE id = 1 FOR UPDATE", logger: PostgresTestServer.logger)

                let impatient = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment,
                                                            timeouts: .init(lock: 1, statement: 30, operation: 60))
                let started = Date()
                let error = await deploymentError { try await impatient.activate(PostgresSamples.request("standby-1")) }
                #expect(Date().timeIntervalSince(started) < 5)
                #expect(error?.kind == .database)
                #expect(error?.message.contains("held a lock for more than 1 s") == true, "\(error?.message ?? "")")
                // Still usable afterwards, and nothing was written.
                #expect(try await impatient.activationAttempts().isEmpty)
                try await impatient.close()
                try await other.query("ROLLBACK", logger: PostgresTestServer.logger)
            } catch {
                try? await other.close()
                throw error
            }
            try await other.close()
            #expect(try await store.activate(PostgresSamples.request("standby-1")).epoch == 2)
        }
    }

    @Test func runawayStatementIsCancelled() async throws {
        try await PostgresTestServer.withFreshDatabase { url in
            let store = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment,
                                                    timeouts: .init(lock: 10, statement: 1, operation: 60))
            let error = await deploymentError { try await store.executeRawSQL("SELECT pg_sleep(5)") }
            try await store.close()
            #expect(error?.message.contains("ran longer than 1 s") == true, "\(error?.message ?? "")")
        }
    }

    @Test func serverThatStopsAnsweringIsAbandoned() async throws {
        try await PostgresTestServer.withFreshDatabase { url in
            let store = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment,
                                                    timeouts: .init(lock: 10, statement: 30, operation: 1))
            try await store.connect()
            // A statement the server runs longer than the operation timeout stands in for a dead network.
            let started = Date()
            let error = await deploymentError { try await store.executeRawSQL("SELECT pg_sleep(5)") }
            #expect(Date().timeIntervalSince(started) < 4)
            #expect(error?.message.contains("did not answer within 1 s") == true, "\(error?.message ?? "")")
            // The next call reconnects.
            #expect(abs(try await store.now().timeIntervalSinceNow) < 60)
            try await store.close()
        }
    }

    /// The operation watchdog firing while COMMIT is on its way is an unknown outcome, not a
    /// server that "did not answer": the server may commit (here it does, once the deferred
    /// trigger that stands in for a slow COMMIT finishes).
    @Test func watchdogDuringCommitIsAnUnknownOutcome() async throws {
        try await PostgresTestServer.withFreshDatabase { url in
            let setup = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment)
            try await setup.executeRawSQL("CREATE TABLE slow_commit (x int)")
            try await setup.executeRawSQL("""
                CREATE FUNCTION slow_commit_trigger() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$
                """)
            try await setup.executeRawSQL("""
                CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED
                FOR EACH ROW EXECUTE FUNCTION slow_commit_trigger()
                """)
            try await setup.close()
            let store = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment,
                                                    timeouts: .init(lock: 10, statement: 30, operation: 1))
            try await store.connect()
            let error = await deploymentError { try await store.executeRawSQL("INSERT INTO slow_commit VALUES (1)") }
            #expect(error?.kind == .database)
            #expect(error?.message.hasSuffix("did not answer within 1 s during COMMIT: outcome unknown: run it again") == true,
                    "\(error?.message ?? "")")
            try await store.close()
        }
    }

    /// Every session of the store carries `idle_in_transaction_session_timeout`: a transaction left
    /// idle (its client stopped or cut off) is ended by the server and gives its row locks back.
    @Test func sessionsEndTransactionsLeftIdle() async throws {
        try await PostgresTestServer.withFreshDatabase { url in
            let store = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment,
                                                    timeouts: .init(lock: 10, statement: 30, operation: 60, idleInTransaction: 2))
            try await store.executeRawSQL("""
                DO $$ BEGIN
                    IF current_setting('idle_in_transaction_session_timeout') <> '2s' THEN
                        RAISE EXCEPTION 'idle_in_transaction_session_timeout is %', current_setting('idle_in_transaction_session_timeout');
                    END IF;
                END $$
                """)
            try await store.close()
            #expect(PostgresDeploymentStore.Timeouts().idleInTransaction < PostgresDeploymentStore.Timeouts().lock)
        }
    }
}
