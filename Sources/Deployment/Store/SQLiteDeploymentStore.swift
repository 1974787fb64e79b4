import Foundation
import GRDB
import KeyFile

/// The embedded deployment store: one SQLite file shared by every server of a deployment on one
/// host (or on a file system with working POSIX locks).
///
/// - The file is opened with a 10-second busy timeout and switched to WAL mode when its schema is
///   created, so readers never block the writer.
/// - Every write is one `BEGIN IMMEDIATE` transaction: the write lock is taken before anything is
///   read, so two processes can never interleave a read-check-write (no lost update, no
///   `SQLITE_BUSY` upgrade deadlock).
/// - A `meta` table holds the product marker and the schema version; a SQLite file without the
///   marker is refused as foreign and is never modified.
/// - The activation log refuses `UPDATE` and `DELETE` by triggers.
/// - Liveness times (heartbeats, `now()`) come from SQLite's clock (`julianday('now')`).
public final class SQLiteDeploymentStore: DeploymentStore {
    /// The product marker in `meta`.
    public static let productMarker = SchemaSteps.productMarker
    /// How long a writer waits for another one's lock before giving up with `.database`.
    public static let defaultBusyTimeout: TimeInterval = 10

    public let path: String
    private let queue: DatabaseQueue
    private let busyTimeout: TimeInterval

    /// Opens (with `create`, creates) the SQLite file at `path`. Opening checks nothing else:
    /// ``schemaVersion()`` tells an empty file from ours and refuses a foreign one.
    public init(path: String, create: Bool = false, busyTimeout: TimeInterval = SQLiteDeploymentStore.defaultBusyTimeout) throws {
        let path = URL(fileURLWithPath: path).standardizedFileURL.path
        self.path = path
        self.busyTimeout = busyTimeout
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard !isDirectory.boolValue else { throw DeploymentError(.database, "\(path): is a directory, not a database file") }
            guard FileManager.default.isReadableFile(atPath: path), FileManager.default.isWritableFile(atPath: path) else {
                throw DeploymentError(.database, "\(path): cannot open the database: permission denied")
            }
        } else if !create {
            throw DeploymentError(.database, "\(path): no such database file")
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "miis-deployment"
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    // MARK: - Schema

    public func schemaVersion() async throws -> Int? {
        try await read { db in try Self.schemaVersion(db, path: self.path) }
    }

    public func migrate(to version: Int) async throws {
        try StoreRules.checkSchemaTarget(version)
        let path = self.path
        try await prepareForMigration()
        try await write { db in
            let existing = try Self.schemaVersion(db, path: path)
            if let existing, existing > version {
                throw DeploymentError(.schemaMismatch,
                    "\(path): the database holds schema \(existing), newer than schema \(version); it cannot be downgraded")
            }
            try Self.applySteps(db, from: existing ?? 0, to: version)
        }
    }

    public func upgrade(_ request: SchemaUpgradeRequest) async throws -> SchemaUpgradeResult {
        try StoreRules.checkSchemaTarget(request.schema)
        try await prepareForMigration()
        return try await write { db in
            // BEGIN IMMEDIATE: the write lock (the migration lock) is held before the schema is read.
            let existing = try self.requireSchema(db)
            guard existing <= request.schema else {
                throw DeploymentError(.schemaMismatch,
                    "\(self.path): the database holds schema \(existing), newer than schema \(request.schema); it cannot be downgraded")
            }
            guard let previous = try self.fetchServers(db, name: request.server).first else {
                throw DeploymentError(.notRegistered, "server '\(request.server)' is not registered in this deployment")
            }
            if existing < request.schema {
                try StoreRules.checkSchemaMigrator(try self.fetchDeployment(db), server: request.server, epoch: request.epoch,
                                                   from: existing, to: request.schema)
                try Self.applySteps(db, from: existing, to: request.schema)
                try self.logChange(db, version: request.schema, origin: request.origin,
                                   StoreRules.Change.schemaMigrated(from: existing, to: request.schema, by: request.softwareVersion))
            } else if try self.fetchDeployment(db) == nil {
                throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
            }
            if previous.softwareVersion != request.softwareVersion {
                var server = previous
                server.softwareVersion = request.softwareVersion
                try db.execute(sql: "UPDATE servers SET software_version = ? WHERE name = ?", arguments: [request.softwareVersion, request.server])
                try self.logChange(db, version: request.schema, origin: request.origin, StoreRules.Change.registered(server, previous: previous))
            }
            return SchemaUpgradeResult(fromSchema: existing, toSchema: request.schema,
                                       previousSoftwareVersion: previous.softwareVersion, softwareVersion: request.softwareVersion)
        }
    }

    /// Before a migration's transaction: the file must be ours or empty, and then is switched to
    /// WAL (which must be set outside a transaction).
    ///
    /// A switch that meets another connection's lock fails with `SQLITE_BUSY` at once: SQLite does
    /// not call the busy handler there. So that servers set up or upgraded at the same time wait
    /// for each other as their writes do, instead of one of them failing with "try again", the
    /// switch is retried until the same busy timeout ran out. (The switch upgrades a read
    /// transaction to a write one, and an upgrade gets no busy handler.)
    private func prepareForMigration() async throws {
        let path = self.path
        _ = try await read { db in try Self.schemaVersion(db, path: path) }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(busyTimeout * 1000)))
        while true {
            do {
                // Some file systems cannot do WAL; SQLite then keeps a rollback journal: still correct, only slower.
                _ = try await queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
                return
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                throw Self.mapped(error, path: path)
            }
        }
    }

    /// The schema steps from `from` to `to`, and the version reached, in the caller's transaction.
    private static func applySteps(_ db: Database, from: Int, to: Int) throws {
        for step in SchemaSteps.steps(from: from, to: to) {
            for statement in step.sqlite { try db.execute(sql: statement) }
        }
        try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'schema_version'", arguments: [String(max(from, to))])
    }

    static func schemaVersion(_ db: Database, path: String) throws -> Int? {
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        if tables.isEmpty { return nil }
        guard tables.contains("meta") else {
            throw DeploymentError(.database, "\(path): this SQLite database is not a MIIS deployment database (no meta table); refusing to use it")
        }
        let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM meta")
        var meta: [String: String] = [:]
        for row in rows {
            if let key = row["key"] as String?, let value = row["value"] as String? { meta[key] = value }
        }
        guard meta["product"] == SchemaSteps.productMarker else {
            throw DeploymentError(.database, "\(path): this SQLite database is not a MIIS deployment database (wrong product marker); refusing to use it")
        }
        guard let text = meta["schema_version"], let version = Int(text), version >= 1 else {
            throw DeploymentError(.database, "\(path): the deployment database has no valid schema version")
        }
        return version
    }

    /// SQLite's current time as Unix seconds with sub-second precision (SQLite 3.40 has no `unixepoch('subsec')`).
    static let nowSQL = "((julianday('now') - 2440587.5) * 86400.0)"
    /// The new active server's heartbeat at a switch: the very time of the switch (the deployment
    /// row's `updated_at`, which is also its `activated_at`), not a later `now` of another
    /// statement. As on PostgreSQL (one transaction time), a winner then never has a heartbeat
    /// younger than its activation, which is what lets a loser's check 6 tell "another server
    /// became active" (27) from "the primary is alive" (26).
    static let heartbeatAtTheSwitch = "last_heartbeat = (SELECT updated_at FROM deployment WHERE id = 1)"

    // MARK: - Servers

    public func register(_ server: RegisteredServer, origin: WriteOrigin) async throws {
        try StoreRules.checkServerName(server.name)
        try await write { db in
            let version = try self.requireSchema(db)
            try StoreRules.checkNoCaseTwin(server.name, among: try self.fetchServers(db).map(\.name))
            let previous = try self.fetchServers(db, name: server.name).first
            try db.execute(sql: """
                INSERT INTO servers (name, software_version, role, registered_at, last_heartbeat) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(name) DO UPDATE SET software_version = excluded.software_version, role = excluded.role
                """, arguments: [server.name, server.softwareVersion, server.role.rawValue,
                                 server.registeredAt.timeIntervalSince1970, server.lastHeartbeat?.timeIntervalSince1970])
            try self.logChange(db, version: version, origin: origin, StoreRules.Change.registered(server, previous: previous))
        }
    }

    public func unregister(_ typed: String, origin: WriteOrigin) async throws {
        try await write { db in
            let version = try self.requireSchema(db)
            let names = try self.fetchServers(db).map(\.name)
            guard let name = StoreRules.registeredName(typed, among: names) else {
                throw DeploymentError(.notRegistered, "server '\(typed)' is not registered in this deployment" + StoreRules.registeredList(names))
            }
            if let state = try self.fetchDeployment(db), state.activeServer == name {
                throw DeploymentError(.invalidRequest, "server '\(name)' is the deployment's active server; it cannot be unregistered")
            }
            try db.execute(sql: "DELETE FROM servers WHERE name = ?", arguments: [name])
            guard db.changesCount == 1 else {
                throw DeploymentError(.notRegistered, "server '\(name)' is not registered in this deployment")
            }
            try self.logChange(db, version: version, origin: origin, StoreRules.Change.unregistered(name))
        }
    }

    public func servers() async throws -> [RegisteredServer] {
        try await read { db in
            try self.requireSchema(db)
            return try self.fetchServers(db)
        }
    }

    /// Every registered server by name, or only `name`'s registration.
    private func fetchServers(_ db: Database, name: String? = nil) throws -> [RegisteredServer] {
        let rows = try name.map { try ServerRow.fetchAll(db, sql: "SELECT * FROM servers WHERE name = ?", arguments: [$0]) }
            ?? ServerRow.fetchAll(db, sql: "SELECT * FROM servers ORDER BY name")
        return try rows.map { row in
            guard let role = ServerRole(rawValue: row.role) else {
                throw DeploymentError(.database, "\(self.path): server row with unknown role '\(row.role)'")
            }
            return RegisteredServer(name: row.name, softwareVersion: row.softwareVersion, role: role,
                                    registeredAt: row.registeredAt, lastHeartbeat: row.lastHeartbeat)
        }
    }

    // MARK: - Deployment row

    public func deployment() async throws -> DeploymentState? {
        try await read { db in
            try self.requireSchema(db)
            return try self.fetchDeployment(db)
        }
    }

    private func fetchDeployment(_ db: Database) throws -> DeploymentState? {
        guard let row = try DeploymentRow.fetchOne(db, sql: "SELECT * FROM deployment WHERE id = 1") else { return nil }
        guard let id = UUID(uuidString: row.keySetId) else {
            throw DeploymentError(.database, "\(path): the deployment row has an invalid key-set ID")
        }
        return DeploymentState(
            activeServer: row.activeServer, epoch: row.epoch, keySetID: id,
            keySetFingerprint: row.keySetFingerprint, passwordSyncEnabled: row.passwordSyncEnabled,
            passwordSyncTarget: row.passwordSyncTarget, updatedAt: row.updatedAt,
            // Schema 3's columns; a database before it has the default lease and no separate activation time.
            leaseSeconds: row.leaseSeconds ?? DeploymentState.defaultLeaseSeconds, activatedAt: row.activatedAt,
            keySetGeneration: row.keySetGeneration ?? 1)
    }

    public func createDeployment(_ state: DeploymentState, checkValues: [KeyCheckValue], origin: WriteOrigin) async throws {
        try StoreRules.checkLease(state.leaseSeconds)
        try await write { db in
            let version = try self.requireSchema(db)
            if let existing = try self.fetchDeployment(db) {
                throw DeploymentError(.invalidRequest,
                    "the deployment already has a primary ('\(existing.activeServer)', epoch \(existing.epoch)); set this server up as a standby")
            }
            guard try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM servers WHERE name = ?", arguments: [state.activeServer]) == 1 else {
                throw DeploymentError(.notRegistered, "server '\(state.activeServer)' is not registered in this deployment")
            }
            try db.execute(sql: """
                INSERT INTO deployment (id, active_server, epoch, key_set_id, key_set_fingerprint, password_sync_enabled, password_sync_target, updated_at)
                VALUES (1, ?, ?, ?, ?, ?, ?, \(Self.nowSQL))
                """, arguments: [state.activeServer, state.epoch, state.keySetID.uuidString, state.keySetFingerprint,
                                 state.passwordSyncEnabled, state.passwordSyncTarget])
            if version >= 3 {
                try db.execute(sql: "UPDATE deployment SET lease_seconds = ?, activated_at = updated_at WHERE id = 1",
                               arguments: [state.leaseSeconds])
            } else if state.leaseSeconds != DeploymentState.defaultLeaseSeconds {
                throw StoreRules.leaseNeedsSchema3(version: version)
            }
            if version >= 4 {
                try db.execute(sql: "UPDATE deployment SET key_set_generation = ? WHERE id = 1", arguments: [state.keySetGeneration])
            } else if state.keySetGeneration != 1 {
                throw StoreRules.keyLifecycleNeedsSchema4(version: version)
            }
            try self.replaceCheckValues(db, version: version, checkValues)
            try self.logChange(db, version: version, origin: origin, StoreRules.Change.deploymentCreated(state))
            if version >= 4 {
                try self.insertHistory(db, generation: state.keySetGeneration, keySetID: state.keySetID, fingerprint: state.keySetFingerprint,
                                       origin: origin, reason: .setup, detail: StoreRules.Change.keySetCreated(state))
            }
        }
    }

    public func heartbeat(server: String, epoch: Int64) async throws {
        try await write { db in
            try self.requireSchema(db)
            try StoreRules.checkFence(try self.fetchDeployment(db), server: server, epoch: epoch)
            try db.execute(sql: "UPDATE servers SET last_heartbeat = \(Self.nowSQL) WHERE name = ?", arguments: [server])
            guard db.changesCount == 1 else {
                throw DeploymentError(.notRegistered, "server '\(server)' is not registered in this deployment")
            }
        }
    }

    public func activeServerHeartbeatAge() async throws -> TimeInterval? {
        try await read { db in
            try self.requireSchema(db)
            return try Self.activeServerHeartbeatAge(db)
        }
    }

    private static func activeServerHeartbeatAge(_ db: Database) throws -> TimeInterval? {
        try Double.fetchOne(db, sql: """
            SELECT \(nowSQL) - s.last_heartbeat FROM deployment d JOIN servers s ON s.name = d.active_server
            WHERE d.id = 1 AND s.last_heartbeat IS NOT NULL
            """)
    }

    public func setLease(_ seconds: TimeInterval, epoch: Int64, origin: WriteOrigin) async throws {
        try StoreRules.checkLease(seconds)
        try await write { db in
            let version = try self.requireSchema(db)
            let state = try StoreRules.checkFence(try self.fetchDeployment(db), server: origin.server, epoch: epoch)
            guard version >= 3 else { throw StoreRules.leaseNeedsSchema3(version: version) }
            try db.execute(sql: "UPDATE deployment SET lease_seconds = ?, updated_at = \(Self.nowSQL) WHERE id = 1 AND epoch = ?",
                           arguments: [seconds, epoch])
            try self.logChange(db, version: version, origin: origin, StoreRules.Change.lease(seconds, previous: state))
        }
    }

    public func setPasswordSync(enabled: Bool, target: String?, origin: WriteOrigin) async throws {
        if enabled {
            guard let target, !target.isEmpty else {
                throw DeploymentError(.invalidRequest, "enabling password synchronization needs a target server")
            }
        }
        try await write { db in
            let version = try self.requireSchema(db)
            guard let previous = try self.fetchDeployment(db) else {
                throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
            }
            var target = target
            if let typed = target {
                let names = try self.fetchServers(db).map(\.name)
                target = StoreRules.registeredName(typed, among: names)
                guard target != nil else {
                    throw DeploymentError(.invalidRequest, "password-sync target '\(typed)' is not a registered server" + StoreRules.registeredList(names))
                }
            }
            try db.execute(sql: "UPDATE deployment SET password_sync_enabled = ?, password_sync_target = ?, updated_at = \(Self.nowSQL) WHERE id = 1",
                           arguments: [enabled, target])
            try self.logChange(db, version: version, origin: origin,
                               StoreRules.Change.passwordSync(enabled: enabled, target: target, previous: previous))
        }
    }

    // MARK: - Secrets

    public func putSecret(_ secret: StoredSecret, epoch: Int64, origin: WriteOrigin) async throws {
        try StoreRules.checkSecretName(secret.name)
        try await write { db in
            let version = try self.requireSchema(db)
            try StoreRules.checkFence(try self.fetchDeployment(db), server: origin.server, epoch: epoch)
            let replaced = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM secrets WHERE name = ?", arguments: [secret.name]) == 1
            if version >= 2 {
                try self.upsertSecret(db, version: version, secret)
            } else {
                try db.execute(sql: "INSERT OR REPLACE INTO secrets (name, key_id, nonce, ciphertext) VALUES (?, ?, ?, ?)",
                               arguments: [secret.name, Int64(secret.keyID.rawValue), Data(secret.nonce), Data(secret.ciphertext)])
            }
            try self.logChange(db, version: version, origin: origin,
                               StoreRules.Change.secret(secret.name, keyID: secret.keyID, replaced: replaced))
        }
    }

    /// Inserts or replaces a secret (schema 2 on): a value set again is no longer waiting for re-entry.
    private func upsertSecret(_ db: Database, version: Int, _ secret: StoredSecret) throws {
        let reentry = version >= 4 ? ", needs_reentry" : ""
        let reentryValue = version >= 4 ? ", 0" : ""
        try db.execute(sql: """
            INSERT INTO secrets (name, key_id, nonce, ciphertext, updated_at\(reentry)) VALUES (?, ?, ?, ?, \(Self.nowSQL)\(reentryValue))
            ON CONFLICT(name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce,
                ciphertext = excluded.ciphertext, updated_at = excluded.updated_at\(version >= 4 ? ", needs_reentry = 0" : "")
            """, arguments: [secret.name, Int64(secret.keyID.rawValue), Data(secret.nonce), Data(secret.ciphertext)])
    }

    public func secrets() async throws -> [StoredSecret] {
        try await read { db in
            let version = try self.requireSchema(db)
            let reentry = version >= 4 ? "needs_reentry" : "0 AS needs_reentry"
            return try SecretRow.fetchAll(db, sql: "SELECT name, key_id, nonce, ciphertext, \(reentry) FROM secrets ORDER BY name").map { row in
                StoredSecret(name: row.name, keyID: try Self.keyID(row.keyId, path: self.path),
                             nonce: Array(row.nonce), ciphertext: Array(row.ciphertext), needsReentry: row.needsReentry)
            }
        }
    }

    public func checkValues() async throws -> [KeyCheckValue] {
        try await read { db in
            let version = try self.requireSchema(db)
            return try self.fetchCheckValues(db, version: version)
        }
    }

    /// The check values; before schema 4 every key is active and the lowest ID is the primary.
    private func fetchCheckValues(_ db: Database, version: Int) throws -> [KeyCheckValue] {
        let columns = version >= 4
            ? "status, is_primary"
            : "'active' AS status, key_id = (SELECT MIN(key_id) FROM key_check_values) AS is_primary"
        return try CheckValueRow.fetchAll(db, sql: "SELECT key_id, check_value, \(columns) FROM key_check_values ORDER BY key_id").map { row in
            guard let status = KeyStatus.allCases.first(where: { $0.description == row.status }) else {
                throw DeploymentError(.database, "\(self.path): key \(row.keyId) has unknown status '\(row.status)'")
            }
            return KeyCheckValue(keyID: try Self.keyID(row.keyId, path: self.path), checkValue: Array(row.checkValue),
                                 status: status, isPrimary: row.isPrimary)
        }
    }

    private func replaceCheckValues(_ db: Database, version: Int, _ values: [KeyCheckValue]) throws {
        try db.execute(sql: "DELETE FROM key_check_values")
        for value in values {
            if version >= 4 {
                try db.execute(sql: "INSERT INTO key_check_values (key_id, check_value, status, is_primary) VALUES (?, ?, ?, ?)",
                               arguments: [Int64(value.keyID.rawValue), Data(value.checkValue), value.status.description, value.isPrimary])
            } else {
                try db.execute(sql: "INSERT INTO key_check_values (key_id, check_value) VALUES (?, ?)",
                               arguments: [Int64(value.keyID.rawValue), Data(value.checkValue)])
            }
        }
    }

    // MARK: - Key set

    @discardableResult
    public func changeKeySet(_ change: KeySetChange, origin: WriteOrigin) async throws -> DeploymentState {
        for secret in change.reencrypted { try StoreRules.checkSecretName(secret.name) }
        return try await write { db in
            let version = try self.requireSchema(db)
            guard version >= 4 else { throw StoreRules.keyLifecycleNeedsSchema4(version: version) }
            // BEGIN IMMEDIATE holds the write lock: the row, the heartbeat and the secrets read here
            // cannot move before the commit.
            let state = try StoreRules.checkKeySetChange(
                change, state: try self.fetchDeployment(db), origin: origin,
                isRegistered: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM servers WHERE name = ?", arguments: [origin.server]) == 1,
                heartbeatAge: try Self.activeServerHeartbeatAge(db))
            let takeover = change.takeover ? ", active_server = ?, epoch = epoch + 1, activated_at = \(Self.nowSQL)" : ""
            var arguments: [any DatabaseValueConvertible] = [change.keySetID.uuidString, change.fingerprint, change.generation]
            if change.takeover { arguments.append(origin.server) }
            arguments += [change.expectedEpoch, change.expectedGeneration]
            try db.execute(sql: """
                UPDATE deployment SET key_set_id = ?, key_set_fingerprint = ?, key_set_generation = ?, updated_at = \(Self.nowSQL)\(takeover)
                WHERE id = 1 AND epoch = ? AND key_set_generation = ?
                """, arguments: StatementArguments(arguments))
            guard db.changesCount == 1 else {
                throw DeploymentError(.conflict, "the deployment moved while the key set changed; nothing was changed")
            }
            if change.takeover {
                try db.execute(sql: "UPDATE servers SET \(Self.heartbeatAtTheSwitch) WHERE name = ?", arguments: [origin.server])
            }
            try self.replaceCheckValues(db, version: version, change.keys)
            for secret in change.reencrypted {
                try db.execute(sql: "UPDATE secrets SET key_id = ?, nonce = ?, ciphertext = ?, updated_at = \(Self.nowSQL) WHERE name = ?",
                               arguments: [Int64(secret.keyID.rawValue), Data(secret.nonce), Data(secret.ciphertext), secret.name])
            }
            for name in change.needsReentry {
                try db.execute(sql: "UPDATE secrets SET needs_reentry = 1 WHERE name = ?", arguments: [name])
            }
            let detail = StoreRules.Change.keySet(change)
            try self.insertHistory(db, generation: change.generation, keySetID: change.keySetID, fingerprint: change.fingerprint,
                                   origin: origin, reason: change.reason, detail: change.detail)
            guard let updated = try self.fetchDeployment(db) else {
                throw DeploymentError(.database, "\(self.path): the deployment row vanished during a key-set change")
            }
            if change.takeover {
                try self.insertLog(db, version: version, ActivationLogEntry(
                    time: Date(), server: origin.server, previousServer: state.activeServer, epoch: updated.epoch,
                    keySetID: change.keySetID, osUser: origin.osUser, outcome: .activated, detail: detail))
            } else {
                try self.logChange(db, version: version, origin: origin, detail)
            }
            return updated
        }
    }

    private func insertHistory(_ db: Database, generation: Int64, keySetID: UUID, fingerprint: String, origin: WriteOrigin,
                               reason: KeySetChangeReason, detail: String) throws {
        try db.execute(sql: """
            INSERT INTO key_set_history (time, generation, key_set_id, fingerprint, server, os_user, reason, detail)
            VALUES (\(Self.nowSQL), ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [generation, keySetID.uuidString, fingerprint, origin.server, origin.osUser, reason.rawValue, detail])
    }

    public func keySetHistory() async throws -> [KeySetHistoryEntry] {
        try await read { db in
            guard try self.requireSchema(db) >= 4 else { return [] }
            return try HistoryRow.fetchAll(db, sql: "SELECT * FROM key_set_history ORDER BY id").map { row in
                guard let id = UUID(uuidString: row.keySetId), let reason = KeySetChangeReason(rawValue: row.reason) else {
                    throw DeploymentError(.database, "\(self.path): a key-set history row is invalid")
                }
                return KeySetHistoryEntry(time: row.time, generation: row.generation, keySetID: id, fingerprint: row.fingerprint,
                                          server: row.server, osUser: row.osUser, reason: reason, detail: row.detail)
            }
        }
    }

    private static func keyID(_ value: Int64, path: String) throws -> KeyID {
        guard value > 0, value <= Int64(UInt32.max) else { throw DeploymentError(.database, "\(path): invalid key ID \(value)") }
        return KeyID(rawValue: UInt32(value))
    }

    // MARK: - Activation

    @discardableResult
    public func activate(_ request: ActivationRequest) async throws -> DeploymentState {
        try await write { db in
            let version = try self.requireSchema(db)
            let state = try StoreRules.checkActivation(
                request, state: try self.fetchDeployment(db),
                isRegistered: try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM servers WHERE name = ?", arguments: [request.server]) == 1)
            // BEGIN IMMEDIATE holds the write lock: no heartbeat can commit between this read and the switch.
            let liveness = try StoreRules.checkLiveness(request, state: state, heartbeatAge: try Self.activeServerHeartbeatAge(db))
            try db.execute(sql: """
                UPDATE deployment SET active_server = ?, epoch = epoch + 1, updated_at = \(Self.nowSQL)
                WHERE id = 1 AND epoch = ? AND key_set_id = ?\(version >= 4 ? " AND key_set_generation = \(request.keySetGeneration)" : "")
                """, arguments: [request.server, request.expectedEpoch, request.keySetID.uuidString])
            guard db.changesCount == 1 else {
                throw DeploymentError(.conflict, "another server became active while activating; nothing was changed")
            }
            if version >= 3 {
                try db.execute(sql: "UPDATE deployment SET activated_at = updated_at WHERE id = 1")
            }
            // The new active server is alive by definition: a slower standby must not take over next.
            try db.execute(sql: "UPDATE servers SET \(Self.heartbeatAtTheSwitch) WHERE name = ?", arguments: [request.server])
            try self.insertLog(db, version: version, ActivationLogEntry(
                time: Date(), server: request.server, previousServer: state.activeServer, epoch: request.expectedEpoch + 1,
                keySetID: request.keySetID, osUser: request.osUser, outcome: .activated, detail: request.detail,
                leaseSeconds: liveness.lease, previousHeartbeatAgeSeconds: liveness.heartbeatAge,
                forced: liveness.forced, forcedReason: request.forceReason))
            guard let updated = try self.fetchDeployment(db) else {
                throw DeploymentError(.database, "\(self.path): the deployment row vanished during activation")
            }
            return updated
        }
    }

    public func appendLog(_ entry: ActivationLogEntry) async throws {
        try await write { db in
            try self.insertLog(db, version: try self.requireSchema(db), entry)
        }
    }

    /// Appends `entry` at the database's current time; schema 3's liveness columns when the schema has them.
    private func insertLog(_ db: Database, version: Int, _ entry: ActivationLogEntry) throws {
        if version >= 3 {
            try db.execute(sql: """
                INSERT INTO activation_log (time, server, previous_server, epoch, key_set_id, os_user, outcome, detail,
                                            lease_seconds, previous_heartbeat_age, forced, forced_reason)
                VALUES (\(Self.nowSQL), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [entry.server, entry.previousServer, entry.epoch, entry.keySetID?.uuidString, entry.osUser,
                                 entry.outcome.rawValue, entry.detail, entry.leaseSeconds, entry.previousHeartbeatAgeSeconds,
                                 entry.forced, entry.forcedReason])
        } else {
            try db.execute(sql: """
                INSERT INTO activation_log (time, server, previous_server, epoch, key_set_id, os_user, outcome, detail)
                VALUES (\(Self.nowSQL), ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [entry.server, entry.previousServer, entry.epoch, entry.keySetID?.uuidString,
                                 entry.osUser, entry.outcome.rawValue, entry.detail])
        }
    }

    /// The `changed` row of an administrative write, in the write's transaction (from schema 3 on).
    private func logChange(_ db: Database, version: Int, origin: WriteOrigin, _ detail: String) throws {
        // Schema 3 (release 1.2) brought the `changed` rows; an older database keeps its log as it was.
        guard version >= 3 else { return }
        let state = try fetchDeployment(db)
        try insertLog(db, version: version, StoreRules.changeEntry(origin: origin, state: state, detail: detail))
    }

    public func activationLog() async throws -> [ActivationLogEntry] {
        try await read { db in
            try self.requireSchema(db)
            return try LogRow.fetchAll(db, sql: "SELECT * FROM activation_log ORDER BY id").map { row in
                ActivationLogEntry(
                    time: row.time, server: row.server, previousServer: row.previousServer,
                    epoch: row.epoch, keySetID: row.keySetId.flatMap(UUID.init(uuidString:)),
                    osUser: row.osUser, outcome: ActivationLogEntry.Outcome(rawValue: row.outcome) ?? .failed,
                    detail: row.detail, leaseSeconds: row.leaseSeconds, previousHeartbeatAgeSeconds: row.previousHeartbeatAge,
                    forced: row.forced ?? false, forcedReason: row.forcedReason)
            }
        }
    }

    public func now() async throws -> Date {
        try await read { db in Date(timeIntervalSince1970: try Double.fetchOne(db, sql: "SELECT \(Self.nowSQL)") ?? 0) }
    }

    /// One file on this host: nothing is replicated, and no database failover can lose a commit.
    public func commitDurability() async throws -> CommitDurability {
        CommitDurability(mode: .embedded)
    }

    public func close() async throws {
        do { try queue.close() } catch { throw Self.mapped(error, path: path) }
    }

    // MARK: - SQLite-specific (the package's tests; no tool calls these)

    /// `PRAGMA integrity_check`: `"ok"` for a sound file.
    package func integrityCheck() async throws -> String {
        try await read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check").joined(separator: "; ") }
    }

    /// The journal mode in effect (`wal` once the schema was created).
    package func journalMode() async throws -> String {
        try await writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Runs raw SQL in an immediate transaction. For the package's tests only (not public API): it
    /// bypasses every rule of the store (the triggers still apply).
    package func executeRawSQL(_ sql: String) async throws {
        try await write { db in try db.execute(sql: sql) }
    }

    // MARK: - Rows

    /// The tables' rows as GRDB decodes them: columns by their snake-case names, times as the
    /// Unix seconds they are stored as; a column an older schema lacks decodes as `nil`.
    private struct ServerRow: Decodable, FetchableRecord {
        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
        var name: String
        var softwareVersion: String
        var role: String
        var registeredAt: Date
        var lastHeartbeat: Date?
    }

    private struct DeploymentRow: Decodable, FetchableRecord {
        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
        var activeServer: String
        var epoch: Int64
        var keySetId: String
        var keySetFingerprint: String
        var passwordSyncEnabled: Bool
        var passwordSyncTarget: String?
        var updatedAt: Date
        var leaseSeconds: Double?
        var activatedAt: Date?
        var keySetGeneration: Int64?
    }

    private struct SecretRow: Decodable, FetchableRecord {
        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
        var name: String
        var keyId: Int64
        var nonce: Data
        var ciphertext: Data
        var needsReentry: Bool
    }

    private struct CheckValueRow: Decodable, FetchableRecord {
        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
        var keyId: Int64
        var checkValue: Data
        var status: String
        var isPrimary: Bool
    }

    private struct HistoryRow: Decodable, FetchableRecord {
        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
        var time: Date
        var generation: Int64
        var keySetId: String
        var fingerprint: String
        var server: String
        var osUser: String
        var reason: String
        var detail: String
    }

    private struct LogRow: Decodable, FetchableRecord {
        static let databaseColumnDecodingStrategy = DatabaseColumnDecodingStrategy.convertFromSnakeCase
        var time: Date
        var server: String
        var previousServer: String?
        var epoch: Int64
        var keySetId: String?
        var osUser: String
        var outcome: String
        var detail: String
        var leaseSeconds: Double?
        var previousHeartbeatAge: Double?
        var forced: Bool?
        var forcedReason: String?
    }

    // MARK: - Plumbing

    @discardableResult
    private func requireSchema(_ db: Database) throws -> Int {
        try StoreRules.requireSchema(try Self.schemaVersion(db, path: path), location: path)
    }

    /// One transaction, committed when `body` returns: GRDB's `write`, whose transactions are
    /// `BEGIN IMMEDIATE` (the write lock is taken before the first read).
    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            let result = try await queue.write { db in
                let result = try body(db)
                try FaultInjection.point("sqlite.before-commit")
                return result
            }
            try FaultInjection.point("sqlite.after-commit")
            return result
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    private func writeWithoutTransaction<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await queue.writeWithoutTransaction(body)
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await queue.read(body)
        } catch {
            throw Self.mapped(error, path: path)
        }
    }

    /// GRDB and SQLite errors as one-line `.database` errors; our own errors pass through.
    static func mapped(_ error: any Error, path: String) -> any Error {
        if error is DeploymentError { return error }
        if let error = error as? DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB:
                return DeploymentError(.database, "\(path): not a SQLite database (a foreign or damaged file); refusing to use it")
            case .SQLITE_CORRUPT:
                return DeploymentError(.database, "\(path): the database file is corrupted")
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return DeploymentError(.database, "\(path): the database stayed locked by another process; try again")
            case .SQLITE_CANTOPEN:
                return DeploymentError(.database, "\(path): cannot open the database file")
            case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH:
                return DeploymentError(.database, "\(path): the database is read-only or access is denied")
            case .SQLITE_FULL:
                return DeploymentError(.database, "\(path): the disk is full")
            default:
                return DeploymentError(.database, "\(path): database error: \(error.message ?? "\(error.resultCode)")")
            }
        }
        return DeploymentError(.database, "\(path): \(error)")
    }
}
