import Deployment
import Foundation
import KeyFile
import Testing

/// One engine under the contract: `newDatabase()` makes a fresh, empty database and returns an
/// opener; each call of the opener is a new store instance (a new connection) on that database.
/// Both engines run the same contract: SQLite files and a real PostgreSQL server.
struct StoreFactory: Sendable, CustomTestStringConvertible {
    typealias Opener = @Sendable () async throws -> any DeploymentStore
    let name: String
    let newDatabase: @Sendable () throws -> Opener
    var testDescription: String { name }

    static let sqlite = StoreFactory(name: "SQLite") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("miis-store-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/deployment.sqlite"
        return { try SQLiteDeploymentStore(path: path, create: true) }
    }

    /// A fresh database in the throwaway cluster of scripts/with-postgres.sh (the README's test
    /// command starts it); in CI a missing server fails these tests instead of skipping them.
    static let postgres = StoreFactory(name: "PostgreSQL") { try PostgresTestServer.contractOpener() }

    static let all: [StoreFactory] = [.sqlite] + (PostgresTestServer.mustRun ? [.postgres] : [])
}

extension WriteOrigin {
    /// An administrative write from a test (any registered server may make these).
    static let test = WriteOrigin(server: "test", osUser: "root")
    /// A write from `server` (the active server's own, for fenced writes).
    static func from(_ server: String) -> WriteOrigin { WriteOrigin(server: server, osUser: "root") }
}

extension DeploymentStore {
    /// The log without the administrative `changed` rows: the activations and refusals.
    func activationAttempts() async throws -> [ActivationLogEntry] {
        try await activationLog().filter { $0.outcome != .changed }
    }
}

/// Test fixtures shared by the contract tests.
enum Fixture {
    static func server(_ name: String, _ role: ServerRole = .standby, version: String = SchemaCatalog.currentSoftwareVersion) -> RegisteredServer {
        RegisteredServer(name: name, softwareVersion: version, role: role, registeredAt: Date())
    }

    /// A migrated store with primary "alpha" active at epoch 1 and standbys "beta", "gamma".
    static func deployed(_ factory: StoreFactory) async throws -> (store: any DeploymentStore, open: StoreFactory.Opener, keySet: KeySet) {
        let open = try factory.newDatabase()
        let store = try await open()
        try await store.migrate(to: SchemaCatalog.current)
        try await store.register(server("alpha", .primary), origin: .test)
        try await store.register(server("beta"), origin: .test)
        try await store.register(server("gamma"), origin: .test)
        let keySet = try KeySet.generate(count: 2)
        try await store.createDeployment(
            DeploymentState(activeServer: "alpha", epoch: 1, keySetID: keySet.id, keySetFingerprint: keySet.fingerprint, updatedAt: Date()),
            checkValues: DeploymentKeyCheck.checkValues(of: keySet), origin: .test)
        return (store, open, keySet)
    }

    static func request(_ server: String, epoch: Int64, keySet: UUID, detail: String = "", forceReason: String? = nil,
                        requestedLease: TimeInterval? = nil) -> ActivationRequest {
        ActivationRequest(server: server, expectedEpoch: epoch, keySetID: keySet, osUser: "root", detail: detail,
                          requestedLease: requestedLease, forceReason: forceReason)
    }
}

/// The error `body` throws, as a `DeploymentError` (a failure if it throws nothing or something else).
func deploymentError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> DeploymentError? {
    do {
        try await body()
        Issue.record("expected a DeploymentError, nothing was thrown", sourceLocation: sourceLocation)
        return nil
    } catch let error as DeploymentError {
        return error
    } catch {
        Issue.record("expected a DeploymentError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

func expectDeploymentError(_ kind: DeploymentError.Kind, _ body: () async throws -> Void,
                           sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected a \(kind) error, got success", sourceLocation: sourceLocation)
    } catch let error as DeploymentError {
        #expect(error.kind == kind, "\(error.message)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a DeploymentError \(kind), got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("DeploymentStore contract")
struct DeploymentStoreContractTests {
    @Test(arguments: StoreFactory.all)
    func emptyDatabaseHasNoSchemaUntilMigrated(_ factory: StoreFactory) async throws {
        let store = try await factory.newDatabase()()
        #expect(try await store.schemaVersion() == nil)
        await expectDeploymentError(.database) { _ = try await store.servers() }
        let early = await deploymentError { _ = try await store.deployment() }
        #expect(early?.kind == .database)
        #expect(early?.message.contains("no deployment schema") == true)
        try await store.migrate(to: SchemaCatalog.current)
        #expect(try await store.schemaVersion() == SchemaCatalog.current)
        try await store.migrate(to: SchemaCatalog.current)  // idempotent
        #expect(try await store.schemaVersion() == SchemaCatalog.current)
        #expect(try await store.deployment() == nil)
        #expect(try await store.servers().isEmpty)
        try await store.close()
    }

    @Test(arguments: StoreFactory.all)
    func migratesSchema1To2KeepingData(_ factory: StoreFactory) async throws {
        let open = try factory.newDatabase()
        let store = try await open()
        try await store.migrate(to: 1)
        #expect(try await store.schemaVersion() == 1)
        try await store.register(Fixture.server("old", .primary, version: "1.0.0"), origin: .test)
        let keySet = try KeySet.generate()
        try await store.createDeployment(
            DeploymentState(activeServer: "old", epoch: 1, keySetID: keySet.id, keySetFingerprint: keySet.fingerprint, updatedAt: Date()),
            checkValues: [], origin: .from("old"))
        let secret = StoredSecret(name: "s", keyID: KeyID(rawValue: 1), nonce: Array(repeating: 1, count: 12), ciphertext: [1, 2, 3])
        try await store.putSecret(secret, epoch: 1, origin: .from("old"))
        try await store.migrate(to: 2)
        #expect(try await store.schemaVersion() == 2)
        #expect(try await store.servers().map(\.name) == ["old"])
        #expect(try await store.secrets() == [secret])
        #expect(try await store.deployment()?.epoch == 1)
        try await store.putSecret(secret, epoch: 1, origin: .from("old"))
        // A newer database is never downgraded, nor migrated to a schema this software does not know.
        await expectDeploymentError(.schemaMismatch) { try await store.migrate(to: 1) }
        await expectDeploymentError(.schemaMismatch) { try await store.migrate(to: SchemaCatalog.current + 1) }
        #expect(try await store.schemaVersion() == 2)
        // Another connection sees the same schema.
        #expect(try await open().schemaVersion() == 2)
    }

    /// Six connections migrating one empty database at once: one creates the schema, the others
    /// wait for it and find it (PostgreSQL: an advisory lock; SQLite: `BEGIN IMMEDIATE`).
    @Test(arguments: StoreFactory.all)
    func concurrentMigrationsAreSerialized(_ factory: StoreFactory) async throws {
        let open = try factory.newDatabase()
        var stores: [any DeploymentStore] = []
        for _ in 0..<6 { stores.append(try await open()) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.migrate(to: SchemaCatalog.current) } }
            try await group.waitForAll()
        }
        for store in stores {
            #expect(try await store.schemaVersion() == SchemaCatalog.current)
            try await store.close()
        }
    }

    @Test(arguments: StoreFactory.all)
    func registersAndUpdatesServers(_ factory: StoreFactory) async throws {
        let store = try await factory.newDatabase()()
        try await store.migrate(to: SchemaCatalog.current)
        #expect(try await store.servers().isEmpty)
        let registeredAt = Date(timeIntervalSince1970: 1_700_000_000)
        try await store.register(Fixture.server("beta", version: "1.0.0"), origin: .test)
        try await store.register(RegisteredServer(name: "alpha", softwareVersion: SchemaCatalog.currentSoftwareVersion, role: .primary,
                                                  registeredAt: registeredAt), origin: .test)
        var servers = try await store.servers()
        #expect(servers.map(\.name) == ["alpha", "beta"])
        #expect(servers[0].role == .primary)
        #expect(servers[0].registeredAt == registeredAt)
        #expect(servers[1].softwareVersion == "1.0.0")
        #expect(servers[1].lastHeartbeat == nil)
        // Re-registering updates the version and the role.
        try await store.register(Fixture.server("beta", .primary, version: "1.1.0"), origin: .test)
        servers = try await store.servers()
        #expect(servers.count == 2)
        #expect(servers[1].softwareVersion == "1.1.0")
        #expect(servers[1].role == .primary)
        await expectDeploymentError(.invalidRequest) { try await store.register(Fixture.server(""), origin: .test) }
        try await store.unregister("beta", origin: .test)
        #expect(try await store.servers().map(\.name) == ["alpha"])
        await expectDeploymentError(.notRegistered) { try await store.unregister("beta", origin: .test) }
    }

    @Test(arguments: StoreFactory.all)
    func theActiveServerCannotBeUnregistered(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        await expectDeploymentError(.invalidRequest) { try await store.unregister("alpha", origin: .test) }
        try await store.unregister("gamma", origin: .test)
        #expect(try await store.servers().map(\.name) == ["alpha", "beta"])
    }

    @Test(arguments: StoreFactory.all)
    func createsTheDeploymentOnce(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let state = try #require(try await store.deployment())
        #expect(state.activeServer == "alpha")
        #expect(state.epoch == 1)
        #expect(state.keySetID == keySet.id)
        #expect(state.keySetFingerprint == keySet.fingerprint)
        #expect(!state.passwordSyncEnabled)
        #expect(state.passwordSyncTarget == nil)
        // Stamped by the database's clock, not with the state's own (client) time.
        #expect(abs(state.updatedAt.timeIntervalSince(try await store.now())) < 60)
        #expect(try await store.checkValues() == DeploymentKeyCheck.checkValues(of: keySet))
        let other = try KeySet.generate()
        await expectDeploymentError(.invalidRequest) {
            try await store.createDeployment(
                DeploymentState(activeServer: "beta", epoch: 1, keySetID: other.id, keySetFingerprint: other.fingerprint, updatedAt: Date()),
                checkValues: [], origin: .test)
        }
        #expect(try await store.deployment() == state)
        #expect(try await store.checkValues() == DeploymentKeyCheck.checkValues(of: keySet))
    }

    @Test(arguments: StoreFactory.all)
    func createDeploymentNeedsARegisteredServer(_ factory: StoreFactory) async throws {
        let store = try await factory.newDatabase()()
        try await store.migrate(to: SchemaCatalog.current)
        let keySet = try KeySet.generate()
        await expectDeploymentError(.notRegistered) {
            try await store.createDeployment(
                DeploymentState(activeServer: "nobody", epoch: 1, keySetID: keySet.id, keySetFingerprint: keySet.fingerprint, updatedAt: Date()),
                checkValues: [], origin: .test)
        }
        #expect(try await store.deployment() == nil)
    }

    @Test(arguments: StoreFactory.all)
    func heartbeatOnlyForTheActiveServerAtTheCurrentEpoch(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        #expect(try await store.activeServerHeartbeatAge() == nil)
        try await store.heartbeat(server: "alpha", epoch: 1)
        let age = try #require(try await store.activeServerHeartbeatAge())
        #expect(age >= 0 && age < 30)
        let alpha = try #require(try await store.servers().first { $0.name == "alpha" })
        let beat = try #require(alpha.lastHeartbeat)
        #expect(abs(beat.timeIntervalSince(try await store.now())) < 30)
        await expectDeploymentError(.fenced) { try await store.heartbeat(server: "beta", epoch: 1) }
        await expectDeploymentError(.fenced) { try await store.heartbeat(server: "alpha", epoch: 0) }
        await expectDeploymentError(.fenced) { try await store.heartbeat(server: "alpha", epoch: 2) }
        #expect(try await store.servers().first { $0.name == "beta" }?.lastHeartbeat == nil)
    }

    @Test(arguments: StoreFactory.all)
    func heartbeatAgeComesFromTheDatabaseClock(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        try await store.heartbeat(server: "alpha", epoch: 1)
        let first = try #require(try await store.activeServerHeartbeatAge())
        try await Task.sleep(for: .milliseconds(300))
        let second = try #require(try await store.activeServerHeartbeatAge())
        #expect(second - first >= 0.25)
        #expect(abs(try await store.now().timeIntervalSinceNow) < 60)
    }

    /// SQLite replicates nothing; the suite's PostgreSQL server is a single node with no standby:
    /// nothing to warn about (a streaming standby is DatabaseFailoverTests').
    @Test(arguments: StoreFactory.all)
    func commitDurabilityNamesTheReplicationMode(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        let durability = try await store.commitDurability()
        #expect(durability.mode == (factory.name == "SQLite" ? .embedded : .none))
        if factory.name != "SQLite" { #expect(durability.standbys == 0) }
        #expect(durability.warning == nil)
    }

    /// The settings read as PostgreSQL applies them: a named standby makes commits wait unless
    /// `synchronous_commit` is `off` or `local`; without that, a connected standby is asynchronous.
    @Test func postgresSettingsReadAsAMode() {
        func mode(_ names: String, _ level: String, standbys: Int = 1) -> CommitDurability.Mode {
            CommitDurability.postgres(synchronousStandbyNames: names, synchronousCommit: level, standbys: standbys, synchronousStandbys: nil).mode
        }
        #expect(mode("*", "on") == .synchronous)
        #expect(mode("FIRST 1 (db1, db2)", "remote_apply") == .synchronous)
        #expect(mode("ANY 1 (db1, db2)", "remote_write", standbys: 0) == .synchronous)
        #expect(mode("*", "local") == .asynchronous)
        #expect(mode("*", "off") == .asynchronous)
        #expect(mode(" ", "on") == .asynchronous)
        #expect(mode("", "on", standbys: 0) == .none)
        // Warnings: an asynchronous standby (a failover loses what it had not received); a
        // synchronous setting with nothing to wait for, whether no standby is connected or the
        // connected ones are not the named ones (seen only with pg_read_all_stats); none for a
        // lone server or a synchronous standby.
        func warning(_ names: String, standbys: Int, synchronous: Int?) -> String? {
            CommitDurability.postgres(synchronousStandbyNames: names, synchronousCommit: "on", standbys: standbys, synchronousStandbys: synchronous)
                .warning?.message
        }
        #expect(warning("", standbys: 1, synchronous: nil)?.hasPrefix("database replication is asynchronous (1 standby server): ") == true)
        #expect(warning("", standbys: 2, synchronous: 0)?.hasPrefix("database replication is asynchronous (2 standby servers): ") == true)
        #expect(warning("*", standbys: 0, synchronous: nil)?.hasPrefix(
            "synchronous replication is configured (synchronous_standby_names = '*') but no standby server is streaming: ") == true)
        #expect(warning("FIRST 1 (db2)", standbys: 1, synchronous: 0)?.hasPrefix(
            "synchronous replication is configured (synchronous_standby_names = 'FIRST 1 (db2)') but none of the standby servers it names is streaming: ") == true)
        #expect(warning("", standbys: 0, synchronous: 0) == nil)
        #expect(warning("*", standbys: 1, synchronous: 1) == nil)
        #expect(warning("*", standbys: 1, synchronous: nil) == nil)
    }

    @Test(arguments: StoreFactory.all)
    func activateMovesTheDeploymentByExactlyOneEpochAndLogs(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let before = try await store.now()
        let state = try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id, detail: "primary lost"))
        #expect(state.activeServer == "beta")
        #expect(state.epoch == 2)
        #expect(state.keySetID == keySet.id)
        #expect(try await store.deployment() == state)
        // The new active server's heartbeat was recorded: it is alive by definition.
        let age = try #require(try await store.activeServerHeartbeatAge())
        #expect(age >= 0 && age < 30)
        // ...at the very time of the switch: a loser's check 6 tells "another server became
        // active" from "the primary is alive" by the winner's heartbeat never being younger than
        // its activation. (SQLite's store once took the `now` of a later statement; its clock has
        // millisecond steps, so this passed then too, unless the statements fell in two steps.)
        let winner = try #require(try await store.servers().first { $0.name == "beta" })
        #expect(winner.lastHeartbeat == state.activatedAt)
        let log = try await store.activationAttempts()
        #expect(log.first.map { $0.time >= before.addingTimeInterval(-1) } == true)
        #expect(log.count == 1)
        #expect(log[0].server == "beta")
        #expect(log[0].previousServer == "alpha")
        #expect(log[0].epoch == 2)
        #expect(log[0].keySetID == keySet.id)
        #expect(log[0].outcome == .activated)
        #expect(log[0].detail == "primary lost")
        #expect(log[0].osUser == "root")
        // The old primary is fenced now; the new one may beat.
        await expectDeploymentError(.fenced) { try await store.heartbeat(server: "alpha", epoch: 1) }
        try await store.heartbeat(server: "beta", epoch: 2)
    }

    @Test(arguments: StoreFactory.all)
    func staleEpochConflictsAndWritesNothing(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        let before = try await store.deployment()
        let conflict = await deploymentError { try await store.activate(Fixture.request("gamma", epoch: 1, keySet: keySet.id)) }
        #expect(conflict?.kind == .conflict)
        #expect(conflict?.message.contains("another server became active") == true)
        #expect(try await store.deployment() == before)
        #expect(try await store.activationAttempts().count == 1)
        // From the current epoch the next activation goes through (forced: beta is alive).
        let third = try await store.activate(Fixture.request("gamma", epoch: 2, keySet: keySet.id, forceReason: "test"))
        #expect(third.epoch == 3)
        #expect(third.activeServer == "gamma")
    }

    @Test(arguments: StoreFactory.all)
    func wrongKeySetOrUnknownServerIsRefused(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        let before = try await store.deployment()
        await expectDeploymentError(.keySetMismatch) { try await store.activate(Fixture.request("beta", epoch: 1, keySet: UUID())) }
        let keySetID = try #require(before?.keySetID)
        await expectDeploymentError(.notRegistered) { try await store.activate(Fixture.request("nobody", epoch: 1, keySet: keySetID)) }
        #expect(try await store.deployment() == before)
        #expect(try await store.activationAttempts().isEmpty)
    }

    @Test(arguments: StoreFactory.all)
    func activationWithoutDeploymentIsRefused(_ factory: StoreFactory) async throws {
        let store = try await factory.newDatabase()()
        try await store.migrate(to: SchemaCatalog.current)
        try await store.register(Fixture.server("beta"), origin: .test)
        await expectDeploymentError(.notRegistered) { try await store.activate(Fixture.request("beta", epoch: 1, keySet: UUID())) }
        await expectDeploymentError(.notRegistered) { try await store.heartbeat(server: "beta", epoch: 1) }
    }

    @Test(arguments: StoreFactory.all)
    func logIsAppendedInOrder(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let epoch1970 = Date(timeIntervalSince1970: 0)
        try await store.appendLog(ActivationLogEntry(time: epoch1970, server: "gamma", previousServer: "alpha", epoch: 1, keySetID: nil,
                                                     osUser: "ops", outcome: .refused, detail: "primary alive"))
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        try await store.appendLog(ActivationLogEntry(time: epoch1970, server: "gamma", previousServer: nil, epoch: 2, keySetID: keySet.id,
                                                     osUser: "ops", outcome: .failed, detail: "crash"))
        let log = try await store.activationAttempts()
        #expect(log.map(\.outcome) == [.refused, .activated, .failed])
        #expect(log.map(\.server) == ["gamma", "beta", "gamma"])
        #expect(log[0].keySetID == nil)
        #expect(log[0].detail == "primary alive")
        #expect(log[2].previousServer == nil)
        #expect(log[2].keySetID == keySet.id)
        // The times are the database's, not the entries' (which said 1970).
        #expect(log.allSatisfy { abs($0.time.timeIntervalSinceNow) < 300 })
        #expect(log[0].time <= log[1].time && log[1].time <= log[2].time)
    }

    @Test(arguments: StoreFactory.all)
    func secretsAndCheckValuesRoundTrip(_ factory: StoreFactory) async throws {
        let (store, open, keySet) = try await Fixture.deployed(factory)
        let value = SecureBytes(count: 5) { $0.copyBytes(from: Array("hello".utf8)) }
        let first = try SecretCipher.seal(value, name: "ldap/bind", keySet: keySet)
        let second = try SecretCipher.seal(value, name: "crm", keySet: keySet)
        try await store.putSecret(first, epoch: 1, origin: .from("alpha"))
        try await store.putSecret(second, epoch: 1, origin: .from("alpha"))
        #expect(try await store.secrets() == [second, first])
        let replaced = try SecretCipher.seal(value, name: "crm", keySet: keySet)
        try await store.putSecret(replaced, epoch: 1, origin: .from("alpha"))
        let other = try await open()
        #expect(try await other.secrets() == [replaced, first])
        #expect(try await other.checkValues() == DeploymentKeyCheck.checkValues(of: keySet))
        #expect(try SecretCipher.open(replaced, keySet: keySet) == value)
        // The columns keep any bytes and the whole key-ID range.
        let raw = StoredSecret(name: "a-raw", keyID: KeyID(rawValue: UInt32.max), nonce: [], ciphertext: [0, 1, 2, 255, 0])
        try await store.putSecret(raw, epoch: 1, origin: .from("alpha"))
        #expect(try await other.secrets() == [raw, replaced, first])
    }

    @Test(arguments: StoreFactory.all)
    func passwordSyncSettings(_ factory: StoreFactory) async throws {
        let empty = try await factory.newDatabase()()
        try await empty.migrate(to: SchemaCatalog.current)
        await expectDeploymentError(.notRegistered) { try await empty.setPasswordSync(enabled: false, target: nil, origin: .test) }
        let (store, _, _) = try await Fixture.deployed(factory)
        try await store.setPasswordSync(enabled: true, target: "beta", origin: .test)
        var state = try #require(try await store.deployment())
        #expect(state.passwordSyncEnabled && state.passwordSyncTarget == "beta")
        await expectDeploymentError(.invalidRequest) { try await store.setPasswordSync(enabled: true, target: "nobody", origin: .test) }
        await expectDeploymentError(.invalidRequest) { try await store.setPasswordSync(enabled: true, target: nil, origin: .test) }
        state = try #require(try await store.deployment())
        #expect(state.passwordSyncTarget == "beta")
        try await store.setPasswordSync(enabled: false, target: nil, origin: .test)
        state = try #require(try await store.deployment())
        #expect(!state.passwordSyncEnabled && state.passwordSyncTarget == nil)
        #expect(state.epoch == 1)
    }

    /// 16 standbys, each with its own store (its own connection), activate at once from the same
    /// epoch: exactly one wins, the others get `.conflict`, the epoch moves by exactly one and the
    /// log has exactly one `activated` row, the winner's.
    @Test(arguments: StoreFactory.all)
    func concurrentActivationsFromSeparateConnectionsHaveExactlyOneWinner(_ factory: StoreFactory) async throws {
        let (store, open, keySet) = try await Fixture.deployed(factory)
        let contenders = 16
        for index in 0..<contenders { try await store.register(Fixture.server("standby\(index)"), origin: .test) }
        let stores = try await withThrowingTaskGroup(of: (any DeploymentStore).self) { group in
            for _ in 0..<contenders { group.addTask { try await open() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Connected first (a first call), so that the activations really overlap.
        for contender in stores { _ = try await contender.now() }
        let outcomes = await withTaskGroup(of: Result<DeploymentState, DeploymentError>.self) { group in
            for (index, contender) in stores.enumerated() {
                group.addTask {
                    do { return .success(try await contender.activate(Fixture.request("standby\(index)", epoch: 1, keySet: keySet.id))) }
                    catch let error as DeploymentError { return .failure(error) }
                    catch { return .failure(DeploymentError(.database, "\(error)")) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let winners = outcomes.compactMap { try? $0.get() }
        let losers = outcomes.compactMap { if case .failure(let error) = $0 { return error } else { return nil } }
        #expect(winners.count == 1)
        #expect(losers.count == contenders - 1)
        #expect(losers.allSatisfy { $0.kind == .conflict }, "\(losers.map(\.message))")
        let winner = try #require(winners.first)
        #expect(winner.epoch == 2)
        let state = try #require(try await store.deployment())
        #expect(state.epoch == 2)
        #expect(state.activeServer == winner.activeServer)
        let log = try await store.activationAttempts()
        #expect(log.count == 1)
        #expect(log.first?.server == winner.activeServer)
        #expect(log.first?.outcome == .activated)
        for contender in stores { try await contender.close() }
    }
}
