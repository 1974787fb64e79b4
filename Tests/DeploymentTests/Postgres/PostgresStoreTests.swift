import Deployment
import Foundation
import KeyFile
import Testing

/// The store against a real PostgreSQL server (scripts/with-postgres.sh), one fresh database per test.
@Suite("PostgreSQL store (real server)")
struct PostgresStoreTests {
    // MARK: Schema

    @Test func emptyDatabaseHasNoSchemaThenCreatesTheCurrentOne() async throws {
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            #expect(try await store.schemaVersion() == nil)
            try await store.migrate(to: SchemaCatalog.current)
            #expect(try await store.schemaVersion() == SchemaCatalog.current)
            // Idempotent.
            try await store.migrate(to: SchemaCatalog.current)
            #expect(try await store.schemaVersion() == SchemaCatalog.current)
        }
    }

    @Test func migratesSchema1To2() async throws {
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            try await store.migrate(to: 1)
            #expect(try await store.schemaVersion() == 1)
            try await PostgresSamples.setUp(store)
            let secret = StoredSecret(name: "connector", keyID: KeyID(rawValue: 1), nonce: [1, 2, 3], ciphertext: [4, 5, 6])
            try await store.putSecret(secret, epoch: 1, origin: .from("primary-1"))
            try await store.migrate(to: 2)
            #expect(try await store.schemaVersion() == 2)
            #expect(try await store.secrets() == [secret])
            #expect(try await store.deployment()?.epoch == 1)
            // Schema 2's column exists and is set by putSecret.
            try await store.putSecret(secret, epoch: 1, origin: .from("primary-1"))
            try await store.executeRawSQL("DO $$ BEGIN IF (SELECT count(*) FROM secrets WHERE updated_at IS NOT NULL) <> 1 THEN RAISE EXCEPTION 'no updated_at'; END IF; END $$")
        }
    }

    @Test func refusesDowngradeAndUnknownVersions() async throws {
        try await PostgresTestServer.withStore { store, _ in
            let downgrade = await deploymentError { try await store.migrate(to: 1) }
            #expect(downgrade?.kind == .schemaMismatch)
            let unknown = await deploymentError { try await store.migrate(to: SchemaCatalog.current + 1) }
            #expect(unknown?.kind == .schemaMismatch)
            let version = try await store.schemaVersion()
            #expect(version == SchemaCatalog.current)
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

    @Test func operationsBeforeSchemaAreDatabaseErrors() async throws {
        try await PostgresTestServer.withStore(migrated: false) { store, _ in
            let error = await deploymentError { _ = try await store.deployment() }
            #expect(error?.kind == .database)
            #expect(error?.message.contains("no deployment schema") == true)
        }
    }

    @Test func concurrentMigrationsAreSerialized() async throws {
        try await PostgresTestServer.withFreshDatabase { url in
            let stores = try (0..<6).map { _ in try PostgresTestServer.store(url) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores { group.addTask { try await store.migrate(to: SchemaCatalog.current) } }
                try await group.waitForAll()
            }
            for store in stores {
                #expect(try await store.schemaVersion() == SchemaCatalog.current)
                try await store.close()
            }
        }
    }

    // MARK: Protocol

    @Test func registerAndServers() async throws {
        try await PostgresTestServer.withStore { store, _ in
            #expect(try await store.servers().isEmpty)
            try await store.register(PostgresSamples.server("standby-b"), origin: .test)
            try await store.register(PostgresSamples.server("primary-a", role: .primary), origin: .test)
            var servers = try await store.servers()
            #expect(servers.map(\.name) == ["primary-a", "standby-b"])
            #expect(servers[0].role == .primary)
            #expect(servers[0].registeredAt == Date(timeIntervalSince1970: 1_700_000_000))
            #expect(servers[0].lastHeartbeat == nil)
            // Re-registering updates version and role.
            try await store.register(PostgresSamples.server("standby-b", role: .primary, version: "1.0.3"), origin: .test)
            servers = try await store.servers()
            #expect(servers.count == 2)
            #expect(servers[1].softwareVersion == "1.0.3")
            #expect(servers[1].role == .primary)
            let bad = await deploymentError { try await store.register(PostgresSamples.server(""), origin: .test) }
            #expect(bad?.kind == .invalidRequest)
        }
    }

    @Test func unregister() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            try await store.unregister("standby-2", origin: .test)
            #expect(try await store.servers().map(\.name) == ["primary-1", "standby-1"])
            let active = await deploymentError { try await store.unregister("primary-1", origin: .test) }
            #expect(active?.kind == .invalidRequest)
            let unknown = await deploymentError { try await store.unregister("standby-2", origin: .test) }
            #expect(unknown?.kind == .notRegistered)
        }
    }

    @Test func createDeploymentOnceOnly() async throws {
        try await PostgresTestServer.withStore { store, _ in
            #expect(try await store.deployment() == nil)
            let unregistered = await deploymentError {
                try await store.createDeployment(PostgresSamples.deployment(), checkValues: [], origin: .test)
            }
            #expect(unregistered?.kind == .notRegistered)
            try await PostgresSamples.setUp(store)
            let state = try #require(try await store.deployment())
            #expect(state.activeServer == "primary-1")
            #expect(state.epoch == 1)
            #expect(state.keySetID == PostgresSamples.keySetID)
            #expect(state.keySetFingerprint == "sha256:abcd")
            #expect(!state.passwordSyncEnabled)
            #expect(state.passwordSyncTarget == nil)
            #expect(abs(state.updatedAt.timeIntervalSince(try await store.now())) < 60)
            #expect(try await store.checkValues() == PostgresSamples.checkValues)
            let second = await deploymentError {
                try await store.createDeployment(PostgresSamples.deployment(active: "standby-1"), checkValues: [], origin: .test)
            }
            #expect(second?.kind == .invalidRequest)
            #expect(try await store.deployment() == state)
            #expect(try await store.checkValues() == PostgresSamples.checkValues)
        }
    }

    @Test func heartbeatOnlyForTheActiveServerAtItsEpoch() async throws {
        try await PostgresTestServer.withStore { store, _ in
            let none = await deploymentError { try await store.heartbeat(server: "primary-1", epoch: 1) }
            #expect(none?.kind == .notRegistered)
            try await PostgresSamples.setUp(store)
            #expect(try await store.activeServerHeartbeatAge() == nil)
            try await store.heartbeat(server: "primary-1", epoch: 1)
            let age = try #require(try await store.activeServerHeartbeatAge())
            #expect(age >= 0 && age < 5)
            let primary = try await store.servers().first { $0.name == "primary-1" }
            #expect(primary?.lastHeartbeat != nil)
            let standby = await deploymentError { try await store.heartbeat(server: "standby-1", epoch: 1) }
            #expect(standby?.kind == .fenced)
            let oldEpoch = await deploymentError { try await store.heartbeat(server: "primary-1", epoch: 0) }
            #expect(oldEpoch?.kind == .fenced)
            // After a (forced: the primary is alive) takeover the old primary is fenced.
            try await store.activate(PostgresSamples.request("standby-1", forceReason: "test"))
            let fenced = await deploymentError { try await store.heartbeat(server: "primary-1", epoch: 1) }
            #expect(fenced?.kind == .fenced)
            try await store.heartbeat(server: "standby-1", epoch: 2)
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

    @Test func passwordSync() async throws {
        try await PostgresTestServer.withStore { store, _ in
            let none = await deploymentError { try await store.setPasswordSync(enabled: true, target: "standby-1", origin: .test) }
            #expect(none?.kind == .notRegistered)
            try await PostgresSamples.setUp(store)
            try await store.setPasswordSync(enabled: true, target: "standby-1", origin: .test)
            var state = try #require(try await store.deployment())
            #expect(state.passwordSyncEnabled)
            #expect(state.passwordSyncTarget == "standby-1")
            let unknown = await deploymentError { try await store.setPasswordSync(enabled: true, target: "nobody", origin: .test) }
            #expect(unknown?.kind == .invalidRequest)
            let noTarget = await deploymentError { try await store.setPasswordSync(enabled: true, target: nil, origin: .test) }
            #expect(noTarget?.kind == .invalidRequest)
            try await store.setPasswordSync(enabled: false, target: nil, origin: .test)
            state = try #require(try await store.deployment())
            #expect(!state.passwordSyncEnabled)
            #expect(state.passwordSyncTarget == nil)
            #expect(state.epoch == 1)
        }
    }

    @Test func secretsInsertReplaceAndOrder() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            #expect(try await store.secrets().isEmpty)
            let b = StoredSecret(name: "b-connector", keyID: KeyID(rawValue: 2), nonce: Array(repeating: 7, count: 12),
                                 ciphertext: [0, 1, 2, 255, 0])
            let a = StoredSecret(name: "a-connector", keyID: KeyID(rawValue: UInt32.max), nonce: [], ciphertext: [9])
            try await store.putSecret(b, epoch: 1, origin: .from("primary-1"))
            try await store.putSecret(a, epoch: 1, origin: .from("primary-1"))
            #expect(try await store.secrets() == [a, b])
            let replaced = StoredSecret(name: "b-connector", keyID: KeyID(rawValue: 1), nonce: [1], ciphertext: [2, 3])
            try await store.putSecret(replaced, epoch: 1, origin: .from("primary-1"))
            #expect(try await store.secrets() == [a, replaced])
            let bad = await deploymentError {
                try await store.putSecret(StoredSecret(name: "bad\nname", keyID: KeyID(rawValue: 1), nonce: [], ciphertext: []), epoch: 1, origin: .from("primary-1"))
            }
            #expect(bad?.kind == .invalidRequest)
        }
    }

    @Test func activateCompareAndSet() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            let before = try await store.now()
            let state = try await store.activate(PostgresSamples.request("standby-1", detail: "primary lost"))
            #expect(state.activeServer == "standby-1")
            #expect(state.epoch == 2)
            #expect(state.keySetID == PostgresSamples.keySetID)
            #expect(try await store.deployment() == state)
            // The new active server's heartbeat was recorded: it is alive by definition.
            let age = try #require(try await store.activeServerHeartbeatAge())
            #expect(age >= 0 && age < 5)
            let log = try await store.activationAttempts()
            #expect(log.count == 1)
            #expect(log[0].server == "standby-1")
            #expect(log[0].previousServer == "primary-1")
            #expect(log[0].epoch == 2)
            #expect(log[0].keySetID == PostgresSamples.keySetID)
            #expect(log[0].osUser == "root")
            #expect(log[0].outcome == .activated)
            #expect(log[0].detail == "primary lost")
            #expect(log[0].time >= before.addingTimeInterval(-1))

            // A stale epoch: conflict, nothing written.
            let conflict = await deploymentError { try await store.activate(PostgresSamples.request("standby-2", epoch: 1)) }
            #expect(conflict?.kind == .conflict)
            #expect(conflict?.message.contains("another server became active") == true)
            #expect(try await store.deployment() == state)
            #expect(try await store.activationAttempts().count == 1)

            // Another key set: refused, nothing written.
            let wrongKeys = await deploymentError { try await store.activate(PostgresSamples.request("standby-2", epoch: 2, keySet: UUID())) }
            #expect(wrongKeys?.kind == .keySetMismatch)
            #expect(try await store.deployment() == state)

            // An unregistered server.
            let unknown = await deploymentError { try await store.activate(PostgresSamples.request("nobody", epoch: 2)) }
            #expect(unknown?.kind == .notRegistered)
            #expect(try await store.deployment() == state)
            #expect(try await store.activationAttempts().count == 1)

            // The next activation from the current epoch succeeds.
            let third = try await store.activate(PostgresSamples.request("standby-2", epoch: 2, forceReason: "test"))
            #expect(third.epoch == 3)
            #expect(third.activeServer == "standby-2")
        }
    }

    @Test func activateWithoutDeployment() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await store.register(PostgresSamples.server("standby-1"), origin: .test)
            let error = await deploymentError { try await store.activate(PostgresSamples.request("standby-1")) }
            #expect(error?.kind == .notRegistered)
        }
    }

    @Test func appendLogAndOrder() async throws {
        try await PostgresTestServer.withStore { store, _ in
            try await PostgresSamples.setUp(store)
            let refused = ActivationLogEntry(time: Date(timeIntervalSince1970: 0), server: "standby-2", previousServer: "primary-1",
                                             epoch: 1, keySetID: nil, osUser: "alice", outcome: .refused, detail: "primary alive")
            try await store.appendLog(refused)
            try await store.activate(PostgresSamples.request("standby-1"))
            let failed = ActivationLogEntry(time: Date(timeIntervalSince1970: 0), server: "standby-2", previousServer: nil,
                                            epoch: 2, keySetID: PostgresSamples.keySetID, osUser: "bob", outcome: .failed, detail: "disk full")
            try await store.appendLog(failed)
            let log = try await store.activationAttempts()
            #expect(log.map(\.outcome) == [.refused, .activated, .failed])
            #expect(log.map(\.server) == ["standby-2", "standby-1", "standby-2"])
            #expect(log[0].keySetID == nil)
            #expect(log[0].detail == "primary alive")
            #expect(log[2].previousServer == nil)
            #expect(log[2].keySetID == PostgresSamples.keySetID)
            // Times are the database's, not the entries' (which said 1970).
            #expect(log.allSatisfy { abs($0.time.timeIntervalSinceNow) < 300 })
            #expect(log[0].time <= log[1].time && log[1].time <= log[2].time)
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
