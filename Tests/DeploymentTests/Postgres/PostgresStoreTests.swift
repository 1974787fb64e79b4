import Deployment
import Foundation
import KeyFile
import Testing

/// What only PostgreSQL has, against a real server (scripts/with-postgres.sh), one fresh database
/// per test: raw SQL on its catalog and triggers, its clock and time zones, the connection (unix
/// socket, closing, serializing one store's calls). Everything the store contract says runs on
/// both engines in `StoreContract` and `StoreSafetyContract`.
@Suite("PostgreSQL store (real server)")
struct PostgresStoreTests {
    // MARK: Schema

    /// Schema 2's `updated_at` column exists after the migration and `putSecret` sets it (what
    /// the contract's migration test cannot see through the protocol).
    @Test func migratesSchema1To2AddingUpdatedAt() async throws {
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            try await store.migrate(to: 1)
            try await PostgresSamples.setUp(store)
            let secret = StoredSecret(name: "connector", keyID: KeyID(rawValue: 1), nonce: [1, 2, 3], ciphertext: [4, 5, 6])
            try await store.putSecret(secret, epoch: 1, origin: .from("primary-1"))
            try await store.migrate(to: 2)
            try await store.putSecret(secret, epoch: 1, origin: .from("primary-1"))
            try await store.executeRawSQL("DO $$ BEGIN IF (SELECT count(*) FROM secrets WHERE updated_at IS NOT NULL) <> 1 THEN RAISE EXCEPTION 'no updated_at'; END IF; END $$")
        }
    }
    @Test func newerSchemaIsASchemaMismatch() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await store.executeRawSQL("UPDATE meta SET value = '\(SchemaCatalog.current + 1)' WHERE key = 'schema_version'")
            #expect(try await store.schemaVersion() == SchemaCatalog.current + 1)
            let error = await deploymentError { _ = try await store.servers() }
            #expect(error?.kind == .schemaMismatch)
        }
    }

    @Test func foreignDatabaseRefusedAndUntouched() async throws {
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            try await store.executeRawSQL("CREATE TABLE customers (id integer PRIMARY KEY, name text)")
            let error = await deploymentError { _ = try await store.schemaVersion() }
            #expect(error?.kind == .database)
            #expect(error?.message.contains("not a MIIS deployment database") == true)
            let migrate = await deploymentError { try await store.migrate(to: SchemaCatalog.current) }
            #expect(migrate?.kind == .database)
            // Nothing was created.
            try await store.executeRawSQL("DO $$ BEGIN IF to_regclass('servers') IS NOT NULL THEN RAISE EXCEPTION 'touched'; END IF; END $$")
        }
    }

    @Test func foreignMetaTableRefused() async throws {
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            try await store.executeRawSQL("CREATE TABLE meta (key text, value text)")
            try await store.executeRawSQL("INSERT INTO meta VALUES ('product', 'something-else'), ('schema_version', '2')")
            let error = await deploymentError { _ = try await store.schemaVersion() }
            #expect(error?.message.contains("wrong product marker") == true)
        }
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            try await store.executeRawSQL("CREATE TABLE meta (a integer)")
            let error = await deploymentError { _ = try await store.schemaVersion() }
            #expect(error?.kind == .database)
            #expect(error?.message.contains("not a MIIS deployment database") == true)
        }
    }

    @Test func heartbeatAgeUsesTheDatabaseClock() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            // A heartbeat recorded 90 s ago by the database's clock, whatever this machine's clock says.
            try await store.executeRawSQL("UPDATE servers SET last_heartbeat = now() - interval '90 seconds' WHERE name = 'primary-1'")
            let age = try #require(try await store.activeServerHeartbeatAge())
            #expect(age >= 90 && age < 100)
            let dbNow = try await store.now()
            #expect(abs(dbNow.timeIntervalSinceNow) < 60)
            // The age follows the database's time zone-independent clock, not the client's.
            try await store.executeRawSQL("SET TIME ZONE 'Pacific/Kiritimati'")
            let again = try #require(try await store.activeServerHeartbeatAge())
            #expect(again >= 90 && again < 100)
        }
    }

    @Test func activationLogIsAppendOnly() async throws {
        try await PostgresTestServer.withStore { store, url in
            try await PostgresSamples.setUp(store)
            try await store.activate(PostgresSamples.request("standby-1"))
            for sql in ["UPDATE activation_log SET detail = 'forged'", "DELETE FROM activation_log", "TRUNCATE activation_log"] {
                let error = await deploymentError { try await store.executeRawSQL(sql) }
                #expect(error?.kind == .database)
                #expect(error?.message.contains("append-only") == true, "\(sql): \(error?.message ?? "")")
            }
            let log = try await store.activationAttempts()
            #expect(log.count == 1)
            #expect(log[0].detail == "")
        }
    }

    @Test func everyMutationIsOneTransaction() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            // Make the log insert fail inside activate: the deployment row must not move.
            try await store.executeRawSQL("ALTER TABLE activation_log ADD CONSTRAINT short_detail CHECK (length(detail) < 5) NOT VALID")
            let error = await deploymentError { try await store.activate(PostgresSamples.request("standby-1", detail: "too long detail")) }
            #expect(error?.kind == .database)
            #expect(try await store.deployment()?.epoch == 1)
            #expect(try await store.deployment()?.activeServer == "primary-1")
            #expect(try await store.activeServerHeartbeatAge() == nil)
            #expect(try await store.activationAttempts().isEmpty)
            // The connection is usable after the failed transaction.
            #expect(try await store.activate(PostgresSamples.request("standby-1", detail: "ok")).epoch == 2)
        }
    }

    @Test func unixSocketConnection() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        let socket = try #require(PostgresTestServer.environment["MIIS_TEST_POSTGRES_SOCKET"])
        let location = try PostgresLocation(url: base)
        let store = try PostgresDeploymentStore(
            url: "postgres://\(location.username)@/\(location.database)?host=\(socket)&port=\(location.port)",
            environment: PostgresTestServer.environment)
        let now = try await store.now()
        #expect(abs(now.timeIntervalSinceNow) < 60)
        try await store.close()
    }

    @Test func closedStoreRefusesCalls() async throws {
        try await PostgresTestServer.withFreshDatabase { url in
            let store = try PostgresTestServer.store(url)
            try await store.connect()
            try await store.close()
            let error = await deploymentError { _ = try await store.now() }
            #expect(error?.kind == .database)
            try await store.close()
        }
    }

    @Test func concurrentCallsOnOneStoreAreSerialized() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await store.putSecret(StoredSecret(name: "s\(index)", keyID: KeyID(rawValue: 1), nonce: [], ciphertext: [UInt8(index)]), epoch: 1, origin: .from("primary-1"))
                        _ = try await store.secrets()
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await store.secrets().count == 20)
        }
    }
}

@Suite("PostgreSQL store: opener for the generic contract suite (real server)")
struct PostgresContractOpenerTests {
    @Test func openerCreatesOneDatabaseAndOpensStoresOnIt() async throws {
        guard PostgresTestServer.configuredURL() != nil else { return }
        let open = try PostgresTestServer.contractOpener()
        let first = try await open()
        #expect(try await first.schemaVersion() == nil)
        try await first.migrate(to: SchemaCatalog.current)
        let second = try await open()
        #expect(try await second.schemaVersion() == SchemaCatalog.current)
        try await first.close()
        try await second.close()
    }
}
