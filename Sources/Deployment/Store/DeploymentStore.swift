import Foundation
import KeyFile

/// What an activation asks the store to do atomically.
public struct ActivationRequest: Sendable, Equatable {
    /// The server becoming active.
    public var server: String
    /// The epoch the caller read; the switch happens only if the row still has it.
    public var expectedEpoch: Int64
    /// The key set the new active server installed (must be the deployment's current one).
    public var keySetID: UUID
    public var osUser: String
    /// Recorded in the log.
    public var detail: String
    /// A lease longer than the deployment's, if the caller wants one; a shorter one has no effect
    /// (the deployment's lease always applies).
    public var requestedLease: TimeInterval?
    /// Set to take over a primary that is still alive; recorded in the log.
    public var forceReason: String?
    /// The generation of the key set installed; the switch happens only if the deployment still
    /// has it (a rotation committed meanwhile makes the activation lose with `.conflict`).
    public var keySetGeneration: Int64

    public init(server: String, expectedEpoch: Int64, keySetID: UUID, osUser: String, detail: String,
                requestedLease: TimeInterval? = nil, forceReason: String? = nil, keySetGeneration: Int64 = 1) {
        self.server = server
        self.expectedEpoch = expectedEpoch
        self.keySetID = keySetID
        self.keySetGeneration = keySetGeneration
        self.osUser = osUser
        self.detail = detail
        self.requestedLease = requestedLease
        self.forceReason = forceReason
    }
}

/// What a service-pack upgrade asks the store to do in one transaction (``DeploymentStore/upgrade(_:)``).
public struct SchemaUpgradeRequest: Sendable, Equatable {
    /// The server upgrading: it must be registered.
    public var server: String
    /// Its new software version, recorded in its registration.
    public var softwareVersion: String
    /// The schema to migrate to (this software's); a database already holding it is not migrated.
    public var schema: Int
    /// The epoch this server holds as the active one, `nil` if it was never activated: only the
    /// active server at the current epoch may migrate the schema.
    public var epoch: Int64?
    public var origin: WriteOrigin

    public init(server: String, softwareVersion: String, schema: Int, epoch: Int64?, origin: WriteOrigin) {
        self.server = server
        self.softwareVersion = softwareVersion
        self.schema = schema
        self.epoch = epoch
        self.origin = origin
    }
}

/// What ``DeploymentStore/upgrade(_:)`` found and did.
public struct SchemaUpgradeResult: Sendable, Equatable {
    /// The schema the database held before, and holds now.
    public var fromSchema: Int
    public var toSchema: Int
    /// The server's registered software version before, and now.
    public var previousSoftwareVersion: String
    public var softwareVersion: String

    public init(fromSchema: Int, toSchema: Int, previousSoftwareVersion: String, softwareVersion: String) {
        self.fromSchema = fromSchema
        self.toSchema = toSchema
        self.previousSoftwareVersion = previousSoftwareVersion
        self.softwareVersion = softwareVersion
    }

    /// Whether the database changed (a migration or a re-registration).
    public var changedDatabase: Bool { fromSchema != toSchema || previousSoftwareVersion != softwareVersion }
}

/// The shared database of a deployment. SQLite (a file path) is the embedded default; PostgreSQL
/// (a `postgres://` URL) serves real multi-host deployments. Both pass the same contract tests.
///
/// Rules every implementation keeps:
/// - every mutating call is one transaction; nothing is half-written;
/// - the deployment row changes only by compare-and-set on the epoch it was read at;
/// - a write made on behalf of the active server (heartbeat, secrets, the lease; key-set changes)
///   carries the writer's epoch and is checked against the deployment row inside the same
///   transaction: a server that is not the active one at that epoch is refused with `.fenced`;
/// - administrative writes any registered server may make (registration, the password-sync
///   target) and every fenced write other than the heartbeat append a `changed` row to the log, in
///   the same transaction, naming the server, the operating-system user and what changed;
/// - times that judge liveness (heartbeats, the lease) come from the database's clock, and the
///   activation re-checks liveness inside its own transaction;
/// - the activation log is append-only.
public protocol DeploymentStore: Sendable {
    /// The schema version this database holds, or `nil` when it holds no schema of ours yet.
    /// Throws `.database` for a file or database that is not ours.
    func schemaVersion() async throws -> Int?

    /// Creates the schema at `version`, or migrates an older one up to it, in one transaction
    /// under the migration lock, applying ``SchemaSteps`` in order.
    func migrate(to version: Int) async throws

    /// The service pack, in one transaction under the migration lock: migrates the schema from
    /// the one the database holds to `request.schema` step by step (``SchemaSteps``), which only
    /// the active server at `request.epoch` may do (else `.fenced`, nothing written); re-registers
    /// `request.server` with `request.softwareVersion`; logs both. A database already at the
    /// schema with the server registered at the version is left untouched (a re-run is a no-op).
    /// Throws `.schemaMismatch` when the database holds a newer schema than `request.schema`,
    /// `.notRegistered` for an unknown server or no deployment.
    @discardableResult
    func upgrade(_ request: SchemaUpgradeRequest) async throws -> SchemaUpgradeResult

    /// Registers a server (or updates its version and role when it re-registers); logged.
    func register(_ server: RegisteredServer, origin: WriteOrigin) async throws

    /// Removes a server's registration (a decommissioned server, or the cleanup of a failed
    /// setup); logged. Throws `.invalidRequest` for the deployment's active server and
    /// `.notRegistered` for an unknown one.
    func unregister(_ name: String, origin: WriteOrigin) async throws

    /// All registered servers, by name.
    func servers() async throws -> [RegisteredServer]

    /// The deployment row, or `nil` before a primary was set up.
    func deployment() async throws -> DeploymentState?

    /// Creates the deployment row (with `state.leaseSeconds`) and the key set's check values for a
    /// new primary; logged. Throws `.invalidRequest` if a deployment already exists (a second primary).
    func createDeployment(_ state: DeploymentState, checkValues: [KeyCheckValue], origin: WriteOrigin) async throws

    /// Records a heartbeat for `server` at the database's current time, only if it is the active
    /// server at `epoch`; otherwise throws `.fenced`.
    func heartbeat(server: String, epoch: Int64) async throws

    /// Seconds since the active server's last heartbeat by the database clock, or `nil` if it never sent one.
    func activeServerHeartbeatAge() async throws -> TimeInterval?

    /// Enables or disables password synchronization and sets its target. Any registered server may
    /// (it is redirected before a failover); logged.
    func setPasswordSync(enabled: Bool, target: String?, origin: WriteOrigin) async throws

    /// Changes the deployment's lease; only the active server at `epoch` may (else `.fenced`), so
    /// that a standby cannot shorten the lease of a live primary. Logged.
    func setLease(_ seconds: TimeInterval, epoch: Int64, origin: WriteOrigin) async throws

    /// Inserts or replaces a secret, only on behalf of the active server at `epoch` (else
    /// `.fenced`); logged (the secret's name, never its value).
    func putSecret(_ secret: StoredSecret, epoch: Int64, origin: WriteOrigin) async throws

    /// All secrets, by name.
    func secrets() async throws -> [StoredSecret]

    /// The check values of the deployment's key set, by key ID.
    func checkValues() async throws -> [KeyCheckValue]

    /// In one transaction: moves the deployment to `request.server` with epoch
    /// `request.expectedEpoch + 1` if the row still has `expectedEpoch` and the same key set and
    /// the active server is not alive (its last heartbeat, by the database clock, is older than the
    /// deployment's lease, or `request.requestedLease` if longer) unless `request.forceReason` is
    /// set; records a heartbeat for the new active server (it is alive by definition, which keeps a
    /// slower standby from taking over right after), and appends an `activated` log row with the
    /// lease in force, the previous server's heartbeat age and whether it was forced. Throws
    /// `.conflict` when the epoch moved (another server won) and `.primaryAlive` when the active
    /// server is alive; then nothing is written.
    @discardableResult
    func activate(_ request: ActivationRequest) async throws -> DeploymentState

    /// In one transaction: applies a key-set change (rotate, retire, disable, purge, abandon) by
    /// compare-and-set on the epoch and the generation read (see ``KeySetChange``): replaces the
    /// key set's ID, fingerprint and generation in the deployment row and its check values,
    /// re-encrypted secrets and needs-re-entry marks, and appends a key-set history row and a
    /// `changed` log row. Throws `.fenced` for a writer that is not the active server at the
    /// epoch, `.conflict` when the generation (or, for an abandon, the epoch) moved, and
    /// `.primaryAlive` for an abandon while the active server is alive; then nothing is written.
    /// Needs schema 4.
    @discardableResult
    func changeKeySet(_ change: KeySetChange, origin: WriteOrigin) async throws -> DeploymentState

    /// The key set's history, oldest first (schema 4; empty before).
    func keySetHistory() async throws -> [KeySetHistoryEntry]

    /// Appends a row to the activation log (refused or failed attempts).
    func appendLog(_ entry: ActivationLogEntry) async throws

    /// The activation log, oldest first.
    func activationLog() async throws -> [ActivationLogEntry]

    /// The database's current time, the clock that judges liveness.
    func now() async throws -> Date

    /// What an acknowledged commit survives (the database's replication mode); read only.
    func commitDurability() async throws -> CommitDurability

    /// Releases connections.
    func close() async throws
}
