import Foundation
import KeyFile

/// `miisserver status --json`: the documented, versioned status document (no secrets).
public struct DeploymentStatusReport: Codable, Sendable {
    public struct Installation: Codable, Sendable {
        public var directory: String
        public var server: String
        public var softwareVersion: String
        public var database: String
        public var adminGroup: String
        public var adminGroupScope: AdminGroupScope
        public var serviceAccount: String
        /// active, standby, fenced or unregistered.
        public var state: InstallationState
        /// The epoch this server recorded when it became active, if ever.
        public var activatedEpoch: Int64?
        public var keysInstalled: Bool
        /// The installed key file's key-set ID (from its public header).
        public var installedKeySetID: UUID?
        /// The installed key file's key-set generation (from its public header).
        public var installedKeySetGeneration: UInt32?
    }

    public struct Database: Codable, Sendable {
        public var schemaVersion: Int
        /// The schema this server's software version needs.
        public var softwareSchemaVersion: Int?
        public var schemaMatches: Bool
        /// The database server's clock minus this host's, in seconds (positive: the database is
        /// ahead); `status` warns from 5 s on (``ClockOffset``).
        public var clockOffsetSeconds: Double?
        /// What an acknowledged commit survives (``CommitDurability``); absent when the database
        /// would not tell.
        public var replication: CommitDurability?
    }

    public struct PasswordSync: Codable, Sendable {
        public var enabled: Bool
        public var target: String?
    }

    public struct Deployment: Codable, Sendable {
        public var activeServer: String
        public var epoch: Int64
        public var keySetID: UUID
        public var keySetFingerprint: String
        /// The key set's generation: a backup of an older generation is stale.
        public var keySetGeneration: Int64
        public var passwordSync: PasswordSync
        public var updatedAt: Date
        /// Seconds since the active server's last heartbeat (database clock), `null` if none.
        public var activeHeartbeatAgeSeconds: Double?
        /// The deployment's lease in seconds: a heartbeat younger than this keeps the active server alive.
        public var leaseSeconds: Double
        /// When the active server became active (database clock).
        public var activatedAt: Date
        /// Whether the active server's last heartbeat is within the lease.
        public var activeServerAlive: Bool
    }

    /// What the deployment says of a registered server, judged now (not frozen at setup).
    public enum ServerState: String, Codable, Sendable {
        /// The active server, its last heartbeat within the lease.
        case active
        /// The active server, but its last heartbeat is older than the lease (or it never sent
        /// one): it is not known to be alive, and a standby may take over.
        case stale
        /// A former active server, replaced at a later epoch: it must not act as the primary.
        case fenced
        /// A registered server that has never been the active one.
        case standby
    }

    public struct Server: Codable, Sendable {
        public var name: String
        public var softwareVersion: String
        /// Whether this server's software version needs the schema the database holds.
        public var schemaMatches: Bool
        /// `primary` for the deployment's active server, else `standby` (follows failovers).
        public var role: ServerRole
        public var state: ServerState
        /// The last epoch at which this server was the active one (`null`: never).
        public var lastActiveEpoch: Int64?
        public var registeredAt: Date
        public var lastHeartbeat: Date?
        public var heartbeatAgeSeconds: Double?
        /// Whether this is the installation the status was asked on.
        public var isThisServer: Bool
    }

    /// The document's format version; bumped on incompatible changes.
    public var schemaVersion: Int = 1
    public var installation: Installation
    public var database: Database
    public var deployment: Deployment?
    public var servers: [Server]
    /// With `status --backups DIR`: the newest backup of the deployment's key set there.
    public var newestBackup: KeyLifecycle.BackupStanding?
}

extension DeploymentAdministration {
    /// Gathers the status of `installation` and its deployment. Never needs a password.
    public static func status(_ installation: ServerInstallation, groupFile: String = "/etc/group") async throws -> DeploymentStatusReport {
        try await withStore(installation) { store in
            let schema = try await store.schemaVersion() ?? 0
            let deployment = try await store.deployment()
            let servers = try await store.servers()
            let now = try await store.now()
            let configuration = installation.configuration
            let needed = SchemaCatalog.schema(forSoftwareVersion: configuration.softwareVersion)
            let matches = StoreRules.schemaMismatch(softwareVersion: configuration.softwareVersion, databaseSchema: schema) == nil
            let activeAge = try await store.activeServerHeartbeatAge()
            let clockOffset = try await ClockOffset.measure(store)
            // Advisory: a database that will not tell (a revoked view) leaves it out, nothing more.
            let durability = try? await store.commitDurability()
            let lastActiveEpochs = try await lastActiveEpochs(store.activationLog(), current: deployment)
            return DeploymentStatusReport(
                installation: localStatus(installation, state: installation.state(deployment: deployment, servers: servers),
                                          groupFile: groupFile),
                database: .init(schemaVersion: schema, softwareSchemaVersion: needed, schemaMatches: matches,
                               clockOffsetSeconds: (clockOffset.seconds * 1000).rounded() / 1000, replication: durability),
                deployment: deployment.map {
                    .init(activeServer: $0.activeServer, epoch: $0.epoch, keySetID: $0.keySetID, keySetFingerprint: $0.keySetFingerprint,
                          keySetGeneration: $0.keySetGeneration,
                          passwordSync: .init(enabled: $0.passwordSyncEnabled, target: $0.passwordSyncTarget), updatedAt: $0.updatedAt,
                          activeHeartbeatAgeSeconds: activeAge, leaseSeconds: $0.leaseSeconds, activatedAt: $0.activatedAt,
                          activeServerAlive: StoreRules.isAlive(heartbeatAge: activeAge, lease: $0.leaseSeconds))
                },
                servers: servers.map { server in
                    let isActive = server.name == deployment?.activeServer
                    let state: DeploymentStatusReport.ServerState
                    if let deployment, isActive {
                        state = StoreRules.isAlive(heartbeatAge: activeAge, lease: deployment.leaseSeconds) ? .active : .stale
                    } else {
                        state = lastActiveEpochs[server.name] == nil ? .standby : .fenced
                    }
                    return .init(name: server.name, softwareVersion: server.softwareVersion,
                                 schemaMatches: SchemaCatalog.schema(forSoftwareVersion: server.softwareVersion) == schema,
                                 role: isActive ? .primary : .standby, state: state, lastActiveEpoch: lastActiveEpochs[server.name],
                                 registeredAt: server.registeredAt, lastHeartbeat: server.lastHeartbeat,
                                 heartbeatAgeSeconds: server.lastHeartbeat.map { now.timeIntervalSince($0) },
                                 isThisServer: server.name == configuration.serverName)
                })
        }
    }

    /// The last epoch at which each server was the active one, from the activation log: the
    /// server of an `activated` row held its epoch, its previous server the epoch before. The
    /// current active server holds the deployment's epoch.
    static func lastActiveEpochs(_ log: [ActivationLogEntry], current: DeploymentState?) -> [String: Int64] {
        var epochs: [String: Int64] = [:]
        func record(_ server: String, _ epoch: Int64) { epochs[server] = max(epochs[server] ?? epoch, epoch) }
        for entry in log where entry.outcome == .activated {
            record(entry.server, entry.epoch)
            if let previous = entry.previousServer { record(previous, entry.epoch - 1) }
        }
        if let current { record(current.activeServer, current.epoch) }
        return epochs
    }

    /// What this installation knows from its own files, in `state` (judged from the database by
    /// ``status(_:groupFile:)``; `unknown` when the database cannot be reached).
    public static func localStatus(_ installation: ServerInstallation, state: InstallationState = .unknown,
                                   groupFile: String = "/etc/group") -> DeploymentStatusReport.Installation {
        let configuration = installation.configuration
        let header = (try? installation.installedKeyFileHeader()).flatMap { $0 }
        return .init(
            directory: installation.directory, server: configuration.serverName, softwareVersion: configuration.softwareVersion,
            database: configuration.database, adminGroup: configuration.adminGroup,
            adminGroupScope: AdminGroupScope.resolve(configuration.adminGroup, groupFile: groupFile),
            serviceAccount: configuration.serviceAccount.canonical, state: state,
            activatedEpoch: installation.activeEpoch, keysInstalled: installation.hasInstalledKeySet,
            installedKeySetID: header?.keySetID, installedKeySetGeneration: header?.generation)
    }
}
