import Foundation
import KeyFile
import PostgresNIO

/// The deployment store on PostgreSQL, for real multi-host deployments (primary and standbys on
/// different hosts sharing one database). Chosen by a `postgres://` or `postgresql://` location;
/// see ``PostgresLocation`` for the URL, ``PostgresPasswordLookup`` for the password, and
/// docs/postgresql.md for roles and privileges.
///
/// - One connection per store, opened on first use (within the URL's `connect_timeout`, 10 s by
///   default); ``close()`` closes it.
/// - Every mutation is one transaction. The deployment row changes only by compare-and-set on
///   the epoch: `UPDATE deployment … SET epoch = epoch + 1 … WHERE epoch = $expected AND
///   key_set_id = $keySet RETURNING …`, after `SELECT … FOR UPDATE` has serialized competing
///   activations; a lost race is `.conflict` and writes nothing.
/// - Liveness times (heartbeats, ``now()``) are the database's `now()`.
/// - The activation log refuses `UPDATE`, `DELETE` and `TRUNCATE` by triggers.
/// - A database holding tables but no `meta` product marker is refused as foreign and never modified.
public final class PostgresDeploymentStore: DeploymentStore {
    public let location: PostgresLocation
    private let session: PostgresSession

    public let timeouts: Timeouts

    /// Bounds on waiting, so that no call hangs. (Connecting is bounded by the URL's `connect_timeout`.)
    public struct Timeouts: Sendable, Equatable {
        /// How long a statement waits for a row or table lock another session holds (the SQLite
        /// store's busy timeout is the same 10 s).
        public var lock: TimeInterval
        /// The longest a single statement may run on the server.
        public var statement: TimeInterval
        /// The longest one call may wait for the server's answers (a dead network); then the
        /// connection is closed and the call fails with `.database` (an unknown outcome if COMMIT
        /// was on its way).
        public var operation: TimeInterval
        /// How long the server lets a session sit idle inside an open transaction before it ends
        /// the session and rolls the transaction back (`idle_in_transaction_session_timeout`).
        /// Without it, a client that stopped between two statements (frozen, partitioned away,
        /// crashed without the host noticing) keeps its locks on the deployment row until TCP
        /// keepalive gives up, about two hours, and every activation meanwhile fails on its lock
        /// timeout. The store's transactions contain only SQL (no prompt, no file work, no key
        /// derivation between statements), so a few seconds is generous. It is shorter than
        /// ``lock`` so that a takeover waiting for the row gets it before its own lock timeout:
        /// the holder has been idle at least as long as the waiter has waited.
        public var idleInTransaction: TimeInterval

        public init(lock: TimeInterval = 10, statement: TimeInterval = 30, operation: TimeInterval = 60,
                    idleInTransaction: TimeInterval = 5) {
            self.lock = lock
            self.statement = statement
            self.operation = operation
            self.idleInTransaction = idleInTransaction
        }

        /// The defaults; in a debug build (the tests'), `MIIS_TEST_POSTGRES_OPERATION_TIMEOUT`
        /// (seconds, 1 to 60) shortens ``operation``, so that a partition test waiting for the
        /// watchdog (an answer to COMMIT that never comes) takes seconds. A release build has no
        /// such switch: the name is not in its binary (ReleaseBuildTests).
        public static var standard: Timeouts {
            var timeouts = Timeouts()
            #if DEBUG
            if let text = ProcessInfo.processInfo.environment[testOperationTimeoutVariable], let seconds = Double(text),
               seconds >= 1, seconds <= timeouts.operation {
                timeouts.operation = seconds
            }
            #endif
            return timeouts
        }

        #if DEBUG
        /// Debug builds only: see ``standard``.
        public static let testOperationTimeoutVariable = "MIIS_TEST_POSTGRES_OPERATION_TIMEOUT"
        #endif
    }

    /// The location as a URL without secrets, for messages.
    public var redactedLocation: String { location.redacted }

    /// Parses `url` (see ``PostgresLocation``) and prepares the connection; the password comes
    /// from `environment` (`PGPASSWORD`, `PGPASSFILE`, `HOME`). Does not connect yet: the first
    /// call does (or ``connect()``). Throws `.database` for a bad URL, a URL with a password, or
    /// an unusable TLS root certificate file.
    public convenience init(url: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            timeouts: Timeouts = .standard) throws {
        try self.init(location: PostgresLocation(url: url), environment: environment, timeouts: timeouts)
    }

    public init(location: PostgresLocation, environment: [String: String] = ProcessInfo.processInfo.environment,
                timeouts: Timeouts = .standard) throws {
        self.location = location
        self.timeouts = timeouts
        // One connection configuration per server of the host list, each with its own password
        // lookup (a .pgpass line names a host) and TLS context (verify-full checks that host's name).
        var candidates: [PostgresSession.Candidate] = []
        for endpoint in location.endpoints {
            let single = location.narrowed(to: endpoint)
            let lookup = PostgresPasswordLookup(environment: environment).password(for: single)
            var configuration: PostgresConnection.Configuration
            switch endpoint {
            case .tcp(let host, let port):
                configuration = PostgresConnection.Configuration(
                    host: host, port: port, username: location.username, password: lookup.password,
                    database: location.database, tls: try Self.tls(for: location, environment: environment))
            case .unixSocket:
                configuration = PostgresConnection.Configuration(
                    unixSocketPath: single.unixSocketPath ?? "", username: location.username, password: lookup.password,
                    database: location.database)
            }
            configuration.options.connectTimeout = .seconds(Int64(location.connectTimeout))
            configuration.options.additionalStartupParameters = [
                ("application_name", location.applicationName),
                // Never hang: a lock held by another session or a runaway statement ends in a clear error.
                ("lock_timeout", "\(Int(timeouts.lock * 1000))ms"),
                ("statement_timeout", "\(Int(timeouts.statement * 1000))ms"),
                // A session that stopped talking inside a transaction gives the deployment row back.
                ("idle_in_transaction_session_timeout", "\(Int(timeouts.idleInTransaction * 1000))ms"),
            ]
            candidates.append(PostgresSession.Candidate(location: single, configuration: configuration,
                                                        passwordSource: lookup.source, passwordWarnings: lookup.warnings))
        }
        session = PostgresSession(candidates: candidates, location: location, timeouts: timeouts)
    }

    /// PostgresNIO's TLS setting for libpq's `sslmode`.
    static func tls(for location: PostgresLocation, environment: [String: String]) throws -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable:
            return .disable
        case .allow, .prefer, .require:
            tls.certificateVerification = .none
        case .verifyCA, .verifyFull:
            tls.certificateVerification = location.sslMode == .verifyFull ? .fullVerification : .noHostnameVerification
            var rootFile = location.sslRootCertificate
            if rootFile == nil, let home = environment["HOME"], !home.isEmpty,
               FileManager.default.fileExists(atPath: home + "/.postgresql/root.crt") {
                rootFile = home + "/.postgresql/root.crt"
            }
            if let rootFile {
                guard FileManager.default.isReadableFile(atPath: rootFile) else {
                    throw DeploymentError(.database, "sslrootcert \(rootFile): no such readable file")
                }
                tls.trustRoots = .file(rootFile)
            }
        }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tls)
        } catch {
            throw DeploymentError(.database, "cannot set up TLS for PostgreSQL (sslmode=\(location.sslMode.rawValue)): \(PostgresErrorMapping.oneLine(String(describing: error)))")
        }
        return location.sslMode.requiresTLS ? .require(context) : .prefer(context)
    }

    /// Opens the connection now (otherwise the first call does), to report connection errors early.
    public func connect() async throws {
        try await withConnection { _ in }
    }

    // MARK: - Schema

    public func schemaVersion() async throws -> Int? {
        try await withConnection { connection in try await self.schemaVersion(connection) }
    }

    public func migrate(to version: Int) async throws {
        try StoreRules.checkSchemaTarget(version)
        try await transaction { connection in
            try await Self.takeMigrationLock(connection)
            let existing = try await self.schemaVersion(connection)
            if let existing, existing > version {
                throw DeploymentError(.schemaMismatch,
                    "\(self.location.redacted): the database holds schema \(existing), newer than schema \(version); it cannot be downgraded")
            }
            try await self.applySteps(connection, from: existing ?? 0, to: version)
        }
    }

    public func upgrade(_ request: SchemaUpgradeRequest) async throws -> SchemaUpgradeResult {
        try StoreRules.checkSchemaTarget(request.schema)
        return try await transaction { connection in
            try await Self.takeMigrationLock(connection)
            let existing = try await self.requireSchema(connection)
            guard existing <= request.schema else {
                throw DeploymentError(.schemaMismatch,
                    "\(self.location.redacted): the database holds schema \(existing), newer than schema \(request.schema); it cannot be downgraded")
            }
            guard let previous = try await self.fetchServers(connection, name: request.server, lock: "FOR UPDATE").first else {
                throw DeploymentError(.notRegistered, "server '\(request.server)' is not registered in this deployment")
            }
            // FOR UPDATE: no activation moves the epoch between the fence check and the commit.
            let state = try await self.fetchDeployment(connection, version: existing, lock: "FOR UPDATE")
            if existing < request.schema {
                try StoreRules.checkSchemaMigrator(state, server: request.server, epoch: request.epoch, from: existing, to: request.schema)
                do {
                    try await self.applySteps(connection, from: existing, to: request.schema)
                } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42501" {
                    throw DeploymentError(.database,
                        "PostgreSQL user \(self.location.username) may not migrate the database schema \(existing) -> \(request.schema) (\(PostgresErrorMapping.oneLine(error.serverInfo?[.message] ?? "permission denied"))): the migration alters tables, which only the role owning them may (docs/postgresql.md); nothing was changed",
                        remedy: .upgradeWithOwnerRole)
                }
                try await self.logChange(connection, version: request.schema, origin: request.origin,
                                         StoreRules.Change.schemaMigrated(from: existing, to: request.schema, by: request.softwareVersion))
            } else if state == nil {
                throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
            }
            if previous.softwareVersion != request.softwareVersion {
                var server = previous
                server.softwareVersion = request.softwareVersion
                try await Self.run(connection, "UPDATE servers SET software_version = \(request.softwareVersion) WHERE name = \(request.server)",
                                   logger: Self.logger)
                try await self.logChange(connection, version: request.schema, origin: request.origin,
                                         StoreRules.Change.registered(server, previous: previous))
            }
            return SchemaUpgradeResult(fromSchema: existing, toSchema: request.schema,
                                       previousSoftwareVersion: previous.softwareVersion, softwareVersion: request.softwareVersion)
        }
    }

    /// Serializes schema creation and migrations across servers, until the transaction ends.
    private static func takeMigrationLock(_ connection: PostgresConnection) async throws {
        try await run(connection, "SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLockKey))", logger: logger)
    }

    /// The schema steps from `from` to `to`, and the version reached, in the caller's transaction.
    private func applySteps(_ connection: PostgresConnection, from: Int, to: Int) async throws {
        for step in SchemaSteps.steps(from: from, to: to) {
            for statement in step.postgres {
                try await Self.run(connection, PostgresQuery(unsafeSQL: statement), logger: Self.logger)
            }
        }
        try await Self.run(connection, "UPDATE meta SET value = \(String(max(from, to))) WHERE key = 'schema_version'", logger: Self.logger)
    }

    private func schemaVersion(_ connection: PostgresConnection) async throws -> Int? {
        let tableRows = try await connection.fetch("""
            SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            """, logger: Self.logger)
        var tables: [String] = []
        for name in try tableRows.decode(String.self) { tables.append(name) }
        if tables.isEmpty { return nil }
        let foreign = "\(location.redacted): this PostgreSQL database is not a MIIS deployment database"
        guard tables.contains("meta") else {
            throw DeploymentError(.database, "\(foreign) (it has tables but no meta table); refusing to use it")
        }
        var meta: [String: String] = [:]
        do {
            let rows = try await connection.fetch("SELECT key::text, value::text FROM meta", logger: Self.logger)
            for (key, value) in try rows.decode((String?, String?).self) {
                if let key, let value { meta[key] = value }
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42703" {
            throw DeploymentError(.database, "\(foreign) (its meta table has other columns); refusing to use it")
        }
        guard meta["product"] == PostgresSchema.productMarker else {
            throw DeploymentError(.database, "\(foreign) (wrong product marker); refusing to use it")
        }
        guard let text = meta["schema_version"], let version = Int(text), version >= 1 else {
            throw DeploymentError(.database, "\(location.redacted): the deployment database has no valid schema version")
        }
        return version
    }

    // MARK: - Servers

    public func register(_ server: RegisteredServer, origin: WriteOrigin) async throws {
        try StoreRules.checkServerName(server.name)
        try await transaction { connection in
            let version = try await self.requireSchema(connection)
            // Two setups of SYNC1 and sync1 at once: the second waits for the first's commit and
            // then sees its name (the rows are distinct, so no row lock would order them).
            try await Self.run(connection, "LOCK TABLE servers IN SHARE ROW EXCLUSIVE MODE", logger: Self.logger)
            try StoreRules.checkNoCaseTwin(server.name, among: try await self.fetchServers(connection).map(\.name))
            let previous = try await self.fetchServers(connection, name: server.name, lock: "FOR UPDATE").first
            try await Self.run(connection, """
                INSERT INTO servers (name, software_version, role, registered_at, last_heartbeat)
                VALUES (\(server.name), \(server.softwareVersion), \(server.role.rawValue), \(server.registeredAt), \(server.lastHeartbeat))
                ON CONFLICT (name) DO UPDATE SET software_version = excluded.software_version, role = excluded.role
                """, logger: Self.logger)
            try await self.logChange(connection, version: version, origin: origin, StoreRules.Change.registered(server, previous: previous))
        }
    }

    /// Removes a server's registration (a decommissioned server, or the cleanup of a failed
    /// setup). Throws `.invalidRequest` for the deployment's active server and `.notRegistered`
    /// for an unknown one. (The deployment branch adds this to `DeploymentStore`.)
    public func unregister(_ typed: String, origin: WriteOrigin) async throws {
        try await transaction { connection in
            let version = try await self.requireSchema(connection)
            let names = try await self.fetchServers(connection).map(\.name)
            guard let name = StoreRules.registeredName(typed, among: names) else {
                throw DeploymentError(.notRegistered, "server '\(typed)' is not registered in this deployment" + StoreRules.registeredList(names))
            }
            if let state = try await self.fetchDeployment(connection, version: version, lock: "FOR SHARE"), state.activeServer == name {
                throw DeploymentError(.invalidRequest, "server '\(name)' is the deployment's active server; it cannot be unregistered")
            }
            let rows = try await connection.fetch("DELETE FROM servers WHERE name = \(name) RETURNING name", logger: Self.logger)
            var count = 0
            for _ in try rows.decode(String.self) { count += 1 }
            guard count == 1 else {
                throw DeploymentError(.notRegistered, "server '\(name)' is not registered in this deployment")
            }
            try await self.logChange(connection, version: version, origin: origin, StoreRules.Change.unregistered(name))
        }
    }

    public func servers() async throws -> [RegisteredServer] {
        try await withConnection { connection in
            try await self.requireSchema(connection)
            return try await self.fetchServers(connection)
        }
    }

    /// Every registered server by name, or only `name`'s registration (`lock`: empty or `FOR UPDATE`).
    private func fetchServers(_ connection: PostgresConnection, name: String? = nil, lock: String = "") async throws -> [RegisteredServer] {
            let query: PostgresQuery = name.map {
                "SELECT name, software_version, role, registered_at, last_heartbeat FROM servers WHERE name = \($0) \(unescaped: lock)"
            } ?? "SELECT name, software_version, role, registered_at, last_heartbeat FROM servers ORDER BY name COLLATE \"C\""
            let rows = try await connection.fetch(query, logger: Self.logger)
            var servers: [RegisteredServer] = []
            for (name, version, roleText, registeredAt, lastHeartbeat) in try rows.decode((String, String, String, Date, Date?).self) {
                guard let role = ServerRole(rawValue: roleText) else {
                    throw DeploymentError(.database, "\(self.location.redacted): server row with unknown role '\(roleText)'")
                }
                servers.append(RegisteredServer(name: name, softwareVersion: version, role: role, registeredAt: registeredAt,
                                                lastHeartbeat: lastHeartbeat))
            }
            return servers
    }

    // MARK: - Deployment row

    public func deployment() async throws -> DeploymentState? {
        try await withConnection { connection in
            let version = try await self.requireSchema(connection)
            return try await self.fetchDeployment(connection, version: version, lock: "")
        }
    }

    /// The deployment row's columns; before schema 3 the lease is the default and the activation
    /// time is the last change's.
    private static func deploymentColumns(version: Int) -> String {
        let common = "active_server, epoch, key_set_id, key_set_fingerprint, password_sync_enabled, password_sync_target, updated_at"
        let generation = version >= 4 ? ", key_set_generation" : ", 1::int8"
        return (version >= 3
            ? common + ", lease_seconds, coalesce(activated_at, updated_at)"
            : common + ", \(DeploymentState.defaultLeaseSeconds)::float8, updated_at") + generation
    }

    /// The deployment row; `lock` is empty, `FOR SHARE` or `FOR UPDATE`.
    private func fetchDeployment(_ connection: PostgresConnection, version: Int, lock: String) async throws -> DeploymentState? {
        let rows = try await connection.fetch(
            "SELECT \(unescaped: Self.deploymentColumns(version: version)) FROM deployment WHERE id = 1 \(unescaped: lock)", logger: Self.logger)
        return try Self.decodeDeployment(rows)
    }

    private static func decodeDeployment(_ rows: PostgresQueryResult) throws -> DeploymentState? {
        var state: DeploymentState?
        for (active, epoch, keySetID, fingerprint, syncEnabled, syncTarget, updatedAt, lease, activatedAt, generation)
            in try rows.decode((String, Int64, UUID, String, Bool, String?, Date, Double, Date, Int64).self) {
            state = DeploymentState(activeServer: active, epoch: epoch, keySetID: keySetID, keySetFingerprint: fingerprint,
                                    passwordSyncEnabled: syncEnabled, passwordSyncTarget: syncTarget, updatedAt: updatedAt,
                                    leaseSeconds: lease, activatedAt: activatedAt, keySetGeneration: generation)
        }
        return state
    }

    private func isRegistered(_ connection: PostgresConnection, _ name: String) async throws -> Bool {
        let rows = try await connection.fetch("SELECT count(*) FROM servers WHERE name = \(name)", logger: Self.logger)
        var count: Int64 = 0
        for value in try rows.decode(Int64.self) { count = value }
        return count == 1
    }

    public func createDeployment(_ state: DeploymentState, checkValues: [KeyCheckValue], origin: WriteOrigin) async throws {
        try StoreRules.checkLease(state.leaseSeconds)
        try await transaction { connection in
            let version = try await self.requireSchema(connection)
            if version < 3, state.leaseSeconds != DeploymentState.defaultLeaseSeconds {
                throw StoreRules.leaseNeedsSchema3(version: version)
            }
            if let existing = try await self.fetchDeployment(connection, version: version, lock: "") {
                throw Self.secondPrimary(existing)
            }
            guard try await self.isRegistered(connection, state.activeServer) else {
                throw DeploymentError(.notRegistered, "server '\(state.activeServer)' is not registered in this deployment")
            }
            let inserted = try await connection.fetch("""
                INSERT INTO deployment (id, active_server, epoch, key_set_id, key_set_fingerprint, password_sync_enabled, password_sync_target, updated_at)
                VALUES (1, \(state.activeServer), \(state.epoch), \(state.keySetID), \(state.keySetFingerprint),
                        \(state.passwordSyncEnabled), \(state.passwordSyncTarget), now())
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: Self.logger)
            var created = false
            for _ in try inserted.decode(Int32.self) { created = true }
            if created, version >= 3 {
                try await Self.run(connection, "UPDATE deployment SET lease_seconds = \(state.leaseSeconds), activated_at = updated_at WHERE id = 1",
                                   logger: Self.logger)
            }
            guard created else {
                // Another primary was created between our read and our insert.
                if let existing = try await self.fetchDeployment(connection, version: version, lock: "") { throw Self.secondPrimary(existing) }
                throw DeploymentError(.invalidRequest, "the deployment already has a primary; set this server up as a standby")
            }
            if version >= 4 {
                try await Self.run(connection, "UPDATE deployment SET key_set_generation = \(state.keySetGeneration) WHERE id = 1", logger: Self.logger)
            } else if state.keySetGeneration != 1 {
                throw StoreRules.keyLifecycleNeedsSchema4(version: version)
            }
            try await self.replaceCheckValues(connection, version: version, checkValues)
            try await self.logChange(connection, version: version, origin: origin, StoreRules.Change.deploymentCreated(state))
            if version >= 4 {
                try await self.insertHistory(connection, generation: state.keySetGeneration, keySetID: state.keySetID,
                                             fingerprint: state.keySetFingerprint, origin: origin, reason: .setup,
                                             detail: StoreRules.Change.keySetCreated(state))
            }
        }
    }

    private static func secondPrimary(_ existing: DeploymentState) -> DeploymentError {
        DeploymentError(.invalidRequest,
            "the deployment already has a primary ('\(existing.activeServer)', epoch \(existing.epoch)); set this server up as a standby")
    }

    public func heartbeat(server: String, epoch: Int64) async throws {
        try await transaction { connection in
            // FOR SHARE: an activation cannot move the row until this heartbeat committed.
            try await self.fencedRow(connection, server: server, epoch: epoch)
            let updated = try await connection.fetch(
                "UPDATE servers SET last_heartbeat = now() WHERE name = \(server) RETURNING name", logger: Self.logger)
            var count = 0
            for _ in try updated.decode(String.self) { count += 1 }
            guard count == 1 else {
                throw DeploymentError(.notRegistered, "server '\(server)' is not registered in this deployment")
            }
        }
    }

    public func activeServerHeartbeatAge() async throws -> TimeInterval? {
        try await withConnection { connection in
            try await self.requireSchema(connection)
            return try await Self.activeServerHeartbeatAge(connection)
        }
    }

    /// By the wall clock of the database server (`clock_timestamp()`, not the transaction's start
    /// `now()`: an activation may have waited for a heartbeat's lock).
    private static func activeServerHeartbeatAge(_ connection: PostgresConnection) async throws -> TimeInterval? {
        let rows = try await connection.fetch("""
            SELECT EXTRACT(EPOCH FROM (clock_timestamp() - s.last_heartbeat))::float8
            FROM deployment d JOIN servers s ON s.name = d.active_server
            WHERE d.id = 1 AND s.last_heartbeat IS NOT NULL
            """, logger: Self.logger)
        var age: Double?
        for value in try rows.decode(Double.self) { age = value }
        return age.map { max(0, $0) }
    }

    /// The fence of a write on behalf of the active server: the schema, and the deployment row
    /// locked `FOR SHARE` (an activation waits until this write committed) and checked.
    @discardableResult
    private func fencedRow(_ connection: PostgresConnection, server: String, epoch: Int64) async throws -> (version: Int, state: DeploymentState) {
        let version = try await requireSchema(connection)
        let state = try StoreRules.checkFence(try await fetchDeployment(connection, version: version, lock: "FOR SHARE"),
                                              server: server, epoch: epoch)
        return (version, state)
    }

    public func setLease(_ seconds: TimeInterval, epoch: Int64, origin: WriteOrigin) async throws {
        try StoreRules.checkLease(seconds)
        try await transaction { connection in
            let (version, state) = try await self.fencedRow(connection, server: origin.server, epoch: epoch)
            guard version >= 3 else { throw StoreRules.leaseNeedsSchema3(version: version) }
            try await Self.run(connection, "UPDATE deployment SET lease_seconds = \(seconds), updated_at = now() WHERE id = 1 AND epoch = \(epoch)",
                               logger: Self.logger)
            try await self.logChange(connection, version: version, origin: origin, StoreRules.Change.lease(seconds, previous: state))
        }
    }

    public func setPasswordSync(enabled: Bool, target: String?, origin: WriteOrigin) async throws {
        if enabled {
            guard let target, !target.isEmpty else {
                throw DeploymentError(.invalidRequest, "enabling password synchronization needs a target server")
            }
        }
        try await transaction { connection in
            let version = try await self.requireSchema(connection)
            guard let previous = try await self.fetchDeployment(connection, version: version, lock: "FOR UPDATE") else {
                throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
            }
            var target = target
            if let typed = target {
                let names = try await self.fetchServers(connection).map(\.name)
                target = StoreRules.registeredName(typed, among: names)
                guard target != nil else {
                    throw DeploymentError(.invalidRequest, "password-sync target '\(typed)' is not a registered server" + StoreRules.registeredList(names))
                }
            }
            try await Self.run(connection, """
                UPDATE deployment SET password_sync_enabled = \(enabled), password_sync_target = \(target), updated_at = now() WHERE id = 1
                """, logger: Self.logger)
            try await self.logChange(connection, version: version, origin: origin,
                                     StoreRules.Change.passwordSync(enabled: enabled, target: target, previous: previous))
        }
    }

    // MARK: - Secrets

    public func putSecret(_ secret: StoredSecret, epoch: Int64, origin: WriteOrigin) async throws {
        try StoreRules.checkSecretName(secret.name)
        try await transaction { connection in
            let (version, _) = try await self.fencedRow(connection, server: origin.server, epoch: epoch)
            let keyID = Int64(secret.keyID.rawValue)
            let existing = try await connection.fetch("SELECT count(*) FROM secrets WHERE name = \(secret.name)", logger: Self.logger)
            var replaced = false
            for count in try existing.decode(Int64.self) { replaced = count > 0 }
            if version >= 2 {
                try await Self.run(connection, """
                    INSERT INTO secrets (name, key_id, nonce, ciphertext, updated_at)
                    VALUES (\(secret.name), \(keyID), \(Data(secret.nonce)), \(Data(secret.ciphertext)), now())
                    ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce,
                        ciphertext = excluded.ciphertext, updated_at = excluded.updated_at
                    """, logger: Self.logger)
                if version >= 4 {
                    // A value set again is no longer waiting for re-entry.
                    try await Self.run(connection, "UPDATE secrets SET needs_reentry = false WHERE name = \(secret.name)", logger: Self.logger)
                }
            } else {
                try await Self.run(connection, """
                    INSERT INTO secrets (name, key_id, nonce, ciphertext)
                    VALUES (\(secret.name), \(keyID), \(Data(secret.nonce)), \(Data(secret.ciphertext)))
                    ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext
                    """, logger: Self.logger)
            }
            try await self.logChange(connection, version: version, origin: origin,
                                     StoreRules.Change.secret(secret.name, keyID: secret.keyID, replaced: replaced))
        }
    }

    public func secrets() async throws -> [StoredSecret] {
        try await withConnection { connection in
            let version = try await self.requireSchema(connection)
            let reentry = version >= 4 ? "needs_reentry" : "false"
            let rows = try await connection.fetch(
                "SELECT name, key_id, nonce, ciphertext, \(unescaped: reentry) FROM secrets ORDER BY name COLLATE \"C\"", logger: Self.logger)
            var secrets: [StoredSecret] = []
            for (name, keyID, nonce, ciphertext, needsReentry) in try rows.decode((String, Int64, Data, Data, Bool).self) {
                secrets.append(StoredSecret(name: name, keyID: try self.keyID(keyID), nonce: Array(nonce), ciphertext: Array(ciphertext),
                                            needsReentry: needsReentry))
            }
            return secrets
        }
    }

    public func checkValues() async throws -> [KeyCheckValue] {
        try await withConnection { connection in
            let version = try await self.requireSchema(connection)
            return try await self.fetchCheckValues(connection, version: version)
        }
    }

    /// The check values; before schema 4 every key is active and the lowest ID is the primary.
    private func fetchCheckValues(_ connection: PostgresConnection, version: Int) async throws -> [KeyCheckValue] {
        let columns = version >= 4
            ? "status, is_primary"
            : "'active'::text, key_id = (SELECT min(key_id) FROM key_check_values)"
        let rows = try await connection.fetch(
            "SELECT key_id, check_value, \(unescaped: columns) FROM key_check_values ORDER BY key_id", logger: Self.logger)
        var values: [KeyCheckValue] = []
        for (keyID, checkValue, statusName, isPrimary) in try rows.decode((Int64, Data, String, Bool).self) {
            guard let status = KeyStatus.allCases.first(where: { $0.description == statusName }) else {
                throw DeploymentError(.database, "\(location.redacted): key \(keyID) has unknown status '\(statusName)'")
            }
            values.append(KeyCheckValue(keyID: try self.keyID(keyID), checkValue: Array(checkValue), status: status, isPrimary: isPrimary))
        }
        return values
    }

    private func replaceCheckValues(_ connection: PostgresConnection, version: Int, _ values: [KeyCheckValue]) async throws {
        try await Self.run(connection, "DELETE FROM key_check_values", logger: Self.logger)
        for value in values {
            if version >= 4 {
                try await Self.run(connection, """
                    INSERT INTO key_check_values (key_id, check_value, status, is_primary)
                    VALUES (\(Int64(value.keyID.rawValue)), \(Data(value.checkValue)), \(value.status.description), \(value.isPrimary))
                    """, logger: Self.logger)
            } else {
                try await Self.run(connection, """
                    INSERT INTO key_check_values (key_id, check_value) VALUES (\(Int64(value.keyID.rawValue)), \(Data(value.checkValue)))
                    """, logger: Self.logger)
            }
        }
    }

    // MARK: - Key set

    @discardableResult
    public func changeKeySet(_ change: KeySetChange, origin: WriteOrigin) async throws -> DeploymentState {
        for secret in change.reencrypted { try StoreRules.checkSecretName(secret.name) }
        return try await transaction { connection in
            let version = try await self.requireSchema(connection)
            guard version >= 4 else { throw StoreRules.keyLifecycleNeedsSchema4(version: version) }
            // FOR UPDATE: a concurrent activation, rotation or fenced write waits for this one.
            let state = try StoreRules.checkKeySetChange(
                change, state: try await self.fetchDeployment(connection, version: version, lock: "FOR UPDATE"), origin: origin,
                isRegistered: try await self.isRegistered(connection, origin.server),
                heartbeatAge: try await Self.activeServerHeartbeatAge(connection))
            let takeover = change.takeover
            let rows = try await connection.fetch("""
                UPDATE deployment SET key_set_id = \(change.keySetID), key_set_fingerprint = \(change.fingerprint),
                    key_set_generation = \(change.generation), updated_at = now(),
                    active_server = CASE WHEN \(takeover) THEN \(origin.server) ELSE active_server END,
                    epoch = CASE WHEN \(takeover) THEN epoch + 1 ELSE epoch END,
                    activated_at = CASE WHEN \(takeover) THEN now() ELSE activated_at END
                WHERE id = 1 AND epoch = \(change.expectedEpoch) AND key_set_generation = \(change.expectedGeneration)
                RETURNING \(unescaped: Self.deploymentColumns(version: version))
                """, logger: Self.logger)
            guard let updated = try Self.decodeDeployment(rows) else {
                throw DeploymentError(.conflict, "the deployment moved while the key set changed; nothing was changed")
            }
            if takeover {
                try await Self.run(connection, "UPDATE servers SET last_heartbeat = now() WHERE name = \(origin.server)", logger: Self.logger)
            }
            try await self.replaceCheckValues(connection, version: version, change.keys)
            for secret in change.reencrypted {
                try await Self.run(connection, """
                    UPDATE secrets SET key_id = \(Int64(secret.keyID.rawValue)), nonce = \(Data(secret.nonce)),
                        ciphertext = \(Data(secret.ciphertext)), updated_at = now() WHERE name = \(secret.name)
                    """, logger: Self.logger)
            }
            for name in change.needsReentry {
                try await Self.run(connection, "UPDATE secrets SET needs_reentry = true WHERE name = \(name)", logger: Self.logger)
            }
            try await self.insertHistory(connection, generation: change.generation, keySetID: change.keySetID, fingerprint: change.fingerprint,
                                         origin: origin, reason: change.reason, detail: change.detail)
            let detail = StoreRules.Change.keySet(change)
            if takeover {
                try await self.insertLog(connection, version: version, ActivationLogEntry(
                    time: Date(), server: origin.server, previousServer: state.activeServer, epoch: updated.epoch,
                    keySetID: change.keySetID, osUser: origin.osUser, outcome: .activated, detail: detail))
            } else {
                try await self.logChange(connection, version: version, origin: origin, detail)
            }
            return updated
        }
    }

    private func insertHistory(_ connection: PostgresConnection, generation: Int64, keySetID: UUID, fingerprint: String,
                               origin: WriteOrigin, reason: KeySetChangeReason, detail: String) async throws {
        try await Self.run(connection, """
            INSERT INTO key_set_history (time, generation, key_set_id, fingerprint, server, os_user, reason, detail)
            VALUES (now(), \(generation), \(keySetID), \(fingerprint), \(origin.server), \(origin.osUser), \(reason.rawValue), \(detail))
            """, logger: Self.logger)
    }

    public func keySetHistory() async throws -> [KeySetHistoryEntry] {
        try await withConnection { connection in
            guard try await self.requireSchema(connection) >= 4 else { return [] }
            let rows = try await connection.fetch("""
                SELECT time, generation, key_set_id, fingerprint, server, os_user, reason, detail FROM key_set_history ORDER BY id
                """, logger: Self.logger)
            var entries: [KeySetHistoryEntry] = []
            for (time, generation, keySetID, fingerprint, server, osUser, reasonName, detail)
                in try rows.decode((Date, Int64, UUID, String, String, String, String, String).self) {
                guard let reason = KeySetChangeReason(rawValue: reasonName) else {
                    throw DeploymentError(.database, "\(location.redacted): a key-set history row has unknown reason '\(reasonName)'")
                }
                entries.append(KeySetHistoryEntry(time: time, generation: generation, keySetID: keySetID, fingerprint: fingerprint,
                                                  server: server, osUser: osUser, reason: reason, detail: detail))
            }
            return entries
        }
    }

    private func keyID(_ value: Int64) throws -> KeyID {
        guard value > 0, value <= Int64(UInt32.max) else { throw DeploymentError(.database, "\(location.redacted): invalid key ID \(value)") }
        return KeyID(rawValue: UInt32(value))
    }

    // MARK: - Activation

    @discardableResult
    public func activate(_ request: ActivationRequest) async throws -> DeploymentState {
        try await transaction { connection in
            let version = try await self.requireSchema(connection)
            // FOR UPDATE serializes competing activations (a loser waits for the winner's commit
            // and then reads the moved epoch) and waits for a heartbeat in flight (FOR SHARE).
            let state = try StoreRules.checkActivation(
                request, state: try await self.fetchDeployment(connection, version: version, lock: "FOR UPDATE"),
                isRegistered: try await self.isRegistered(connection, request.server))
            let liveness = try StoreRules.checkLiveness(request, state: state, heartbeatAge: try await Self.activeServerHeartbeatAge(connection))
            // The compare-and-set itself: zero rows means the row moved, whatever was read above.
            let activatedAt = version >= 3 ? ", activated_at = now()" : ""
            let rows = try await connection.fetch("""
                UPDATE deployment SET active_server = \(request.server), epoch = epoch + 1, updated_at = now()\(unescaped: activatedAt)
                WHERE id = 1 AND epoch = \(request.expectedEpoch) AND key_set_id = \(request.keySetID)
                    AND \(unescaped: version >= 4 ? "key_set_generation = \(request.keySetGeneration)" : "true")
                RETURNING \(unescaped: Self.deploymentColumns(version: version))
                """, logger: Self.logger)
            guard let updated = try Self.decodeDeployment(rows) else {
                throw DeploymentError(.conflict, "another server became active while activating (the deployment's epoch moved); nothing was changed")
            }
            try await Self.run(connection,
                "UPDATE servers SET last_heartbeat = now() WHERE name = \(request.server)", logger: Self.logger)
            try await self.insertLog(connection, version: version, ActivationLogEntry(
                time: Date(), server: request.server, previousServer: state.activeServer, epoch: updated.epoch,
                keySetID: request.keySetID, osUser: request.osUser, outcome: .activated, detail: request.detail,
                leaseSeconds: liveness.lease, previousHeartbeatAgeSeconds: liveness.heartbeatAge,
                forced: liveness.forced, forcedReason: request.forceReason))
            return updated
        }
    }

    public func appendLog(_ entry: ActivationLogEntry) async throws {
        try await transaction { connection in
            try await self.insertLog(connection, version: try await self.requireSchema(connection), entry)
        }
    }

    /// Appends `entry` at the database's current time; schema 3's liveness columns when the schema has them.
    private func insertLog(_ connection: PostgresConnection, version: Int, _ entry: ActivationLogEntry) async throws {
        if version >= 3 {
            try await Self.run(connection, """
                INSERT INTO activation_log (time, server, previous_server, epoch, key_set_id, os_user, outcome, detail,
                                            lease_seconds, previous_heartbeat_age, forced, forced_reason)
                VALUES (now(), \(entry.server), \(entry.previousServer), \(entry.epoch), \(entry.keySetID), \(entry.osUser),
                        \(entry.outcome.rawValue), \(entry.detail), \(entry.leaseSeconds), \(entry.previousHeartbeatAgeSeconds),
                        \(entry.forced), \(entry.forcedReason))
                """, logger: Self.logger)
        } else {
            try await Self.run(connection, """
                INSERT INTO activation_log (time, server, previous_server, epoch, key_set_id, os_user, outcome, detail)
                VALUES (now(), \(entry.server), \(entry.previousServer), \(entry.epoch), \(entry.keySetID), \(entry.osUser),
                        \(entry.outcome.rawValue), \(entry.detail))
                """, logger: Self.logger)
        }
    }

    /// The `changed` row of an administrative write, in the write's transaction (from schema 3 on).
    private func logChange(_ connection: PostgresConnection, version: Int, origin: WriteOrigin, _ detail: String) async throws {
        // Schema 3 (release 1.2) brought the `changed` rows; an older database keeps its log as it was.
        guard version >= 3 else { return }
        let state = try await fetchDeployment(connection, version: version, lock: "")
        try await insertLog(connection, version: version, StoreRules.changeEntry(origin: origin, state: state, detail: detail))
    }

    public func activationLog() async throws -> [ActivationLogEntry] {
        try await withConnection { connection in
            let version = try await self.requireSchema(connection)
            let liveness = version >= 3
                ? "lease_seconds, previous_heartbeat_age, forced, forced_reason"
                : "NULL::float8, NULL::float8, false, NULL::text"
            let rows = try await connection.fetch("""
                SELECT time, server, previous_server, epoch, key_set_id, os_user, outcome, detail, \(unescaped: liveness)
                FROM activation_log ORDER BY id
                """, logger: Self.logger)
            var entries: [ActivationLogEntry] = []
            for (time, server, previous, epoch, keySetID, osUser, outcome, detail, lease, age, forced, reason)
                in try rows.decode((Date, String, String?, Int64, UUID?, String, String, String, Double?, Double?, Bool, String?).self) {
                entries.append(ActivationLogEntry(time: time, server: server, previousServer: previous, epoch: epoch, keySetID: keySetID,
                                                  osUser: osUser, outcome: ActivationLogEntry.Outcome(rawValue: outcome) ?? .failed,
                                                  detail: detail, leaseSeconds: lease, previousHeartbeatAgeSeconds: age,
                                                  forced: forced, forcedReason: reason))
            }
            return entries
        }
    }

    public func now() async throws -> Date {
        try await withConnection { connection in
            let rows = try await connection.fetch("SELECT now()", logger: Self.logger)
            var now: Date?
            for value in try rows.decode(Date.self) { now = value }
            guard let now else { throw DeploymentError(.database, "\(self.location.redacted): the server returned no time") }
            return now
        }
    }

    public func commitDurability() async throws -> CommitDurability {
        try await withConnection { connection in
            // Every role sees one pg_stat_replication row per WAL sender, but only pid and
            // application_name of them (state and sync_state need pg_read_all_stats); physical
            // standbys are told apart by their session's datid, which every role sees (NULL: no database).
            let rows = try await connection.fetch("""
                SELECT pg_catalog.current_setting('synchronous_standby_names'), pg_catalog.current_setting('synchronous_commit'),
                       count(*) FILTER (WHERE a.datid IS NULL AND r.application_name NOT IN ('pg_basebackup', 'pg_receivewal')),
                       count(*) FILTER (WHERE r.state IS NOT NULL),
                       count(*) FILTER (WHERE r.sync_state IN ('sync', 'quorum'))
                FROM pg_catalog.pg_stat_replication r LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = r.pid
                """, logger: Self.logger)
            var durability: CommitDurability?
            for (names, level, physical, visible, synchronous) in try rows.decode((String, String, Int64, Int64, Int64).self) {
                let hidden = visible == 0 && physical > 0
                durability = .postgres(synchronousStandbyNames: names, synchronousCommit: level, standbys: Int(physical),
                                       synchronousStandbys: hidden ? nil : Int(synchronous))
            }
            guard let durability else { throw DeploymentError(.database, "\(self.location.redacted): the server returned no replication settings") }
            return durability
        }
    }

    public func close() async throws {
        try await session.close()
    }

    // MARK: - PostgreSQL-specific (the package's tests)

    /// Runs raw SQL in a transaction. For the package's tests only (not public API): it bypasses
    /// every rule of the store (the triggers still apply).
    package func executeRawSQL(_ sql: String) async throws {
        try await transaction { connection in
            try await Self.run(connection, PostgresQuery(unsafeSQL: sql), logger: Self.logger)
        }
    }

    // MARK: - Plumbing

    static var logger: Logger { PostgresSession.logger }

    /// Runs a statement whose rows are not needed, reading them all: a server error that arrives
    /// with or after the first row (a cancelled or failed statement) is thrown, never lost.
    static func run(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws {
        _ = try await connection.fetch(query, logger: logger)
    }

    @discardableResult
    private func requireSchema(_ connection: PostgresConnection) async throws -> Int {
        try StoreRules.requireSchema(try await schemaVersion(connection), location: location.redacted)
    }

    /// Lends the store's connection to `body`, one call at a time; errors become `.database`.
    private func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await session.acquire()
        let watchdog = ConnectionWatchdog(closing: connection, after: timeouts.operation)
        do {
            let result = try await body(connection)
            watchdog.cancel()
            await session.release(broken: false)
            return result
        } catch {
            watchdog.cancel()
            let unanswered = error is UnansweredCommit
            await session.release(broken: unanswered || watchdog.fired || PostgresErrorMapping.breaksConnection(error))
            let target = "\(location.serverDescription)/\(location.database)"
            // COMMIT was on its way when the connection went (whoever closed it, the watchdog
            // included): the server may have committed. That, not the timeout, is what the caller
            // must hear.
            if unanswered {
                if watchdog.fired {
                    throw DeploymentError(.database,
                        "PostgreSQL at \(target) did not answer within \(Int(timeouts.operation)) s during COMMIT: outcome unknown: run it again")
                }
                throw PostgresErrorMapping.commitOutcomeUnknown(location: location)
            }
            if watchdog.fired {
                throw DeploymentError(.database,
                    "PostgreSQL at \(target) did not answer within \(Int(timeouts.operation)) s; the connection was closed")
            }
            throw PostgresErrorMapping.queryError(error, location: location, timeouts: timeouts)
        }
    }

    /// `body` in one transaction: committed when it returns, rolled back when it throws. (Not
    /// postgres-nio's `withTransaction`: its BEGIN and COMMIT would bypass ``PostgresConnection/fetch(_:logger:)``.)
    private func transaction<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection { connection in
            try await Self.run(connection, "BEGIN", logger: Self.logger)
            let result: T
            do {
                result = try await body(connection)
                try FaultInjection.point("postgres.before-commit")
            } catch {
                // The error of the step that failed, as it was thrown (ours pass through, the
                // server's are mapped by `withConnection`); a failed ROLLBACK adds nothing to it
                // (a session that ends inside a transaction is rolled back by the server).
                try? await Self.run(connection, "ROLLBACK", logger: Self.logger)
                throw error
            }
            do {
                try await Self.run(connection, "COMMIT", logger: Self.logger)
            } catch {
                // COMMIT never sent, or the server ended the session before it read COMMIT (it
                // sat idle in the transaction too long): rolled back, nothing written, and
                // `withConnection` says so. A connection lost while COMMIT was on its way: the
                // server may have committed or not, and no one can tell from here; said so,
                // never reported as a failure.
                if !(error is StatementNotSent) && !PostgresErrorMapping.endedIdleTransaction(error)
                    && PostgresErrorMapping.breaksConnection(error) {
                    throw UnansweredCommit()
                }
                throw error
            }
            // Thrown here, the error stands for a COMMIT whose outcome the client never heard.
            do {
                try FaultInjection.point("postgres.after-commit")
            } catch {
                throw PostgresErrorMapping.commitOutcomeUnknown(location: location)
            }
            return result
        }
    }
}

/// COMMIT was sent and the connection went before its answer came: `withConnection` reports the
/// unknown outcome (also when its own watchdog closed the connection).
private struct UnansweredCommit: Error {}
