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
    }

    public struct Database: Codable, Sendable {
        public var schemaVersion: Int
        /// The schema this server's software version needs.
        public var softwareSchemaVersion: Int?
        public var schemaMatches: Bool
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
        public var passwordSync: PasswordSync
        public var updatedAt: Date
        /// Seconds since the active server's last heartbeat (database clock), `null` if none.
        public var activeHeartbeatAgeSeconds: Double?
        /// The deployment's lease in seconds: a heartbeat younger than this keeps the active server alive.
        public var leaseSeconds: Double
        /// When the active server became active (database clock).
        public var activatedAt: Date
    }

    public struct Server: Codable, Sendable {
        public var name: String
        public var softwareVersion: String
        public var role: ServerRole
        public var registeredAt: Date
        public var lastHeartbeat: Date?
        public var heartbeatAgeSeconds: Double?
    }

    /// The document's format version; bumped on incompatible changes.
    public var schemaVersion: Int = 1
    public var installation: Installation
    public var database: Database
    public var deployment: Deployment?
    public var servers: [Server]
}

extension DeploymentAdministration {
    /// Gathers the status of `installation` and its deployment. Never needs a password.
    public static func status(_ installation: ServerInstallation, groupFile: String = "/etc/group") async throws -> DeploymentStatusReport {
        try await withStore(installation) { store in
            let schema = try await store.schemaVersion() ?? 0
            let deployment = try await store.deployment()
            let servers = try await store.servers()
            let now = try await store.now()
            let header = try? installation.installedKeyFileHeader()
            let configuration = installation.configuration
            let needed = SchemaCatalog.schema(forSoftwareVersion: configuration.softwareVersion)
            let matches = StoreRules.schemaMismatch(softwareVersion: configuration.softwareVersion, databaseSchema: schema) == nil
            let activeAge = try await store.activeServerHeartbeatAge()
            return DeploymentStatusReport(
                installation: .init(
                    directory: installation.directory, server: configuration.serverName, softwareVersion: configuration.softwareVersion,
                    database: configuration.database, adminGroup: configuration.adminGroup,
                    adminGroupScope: AdminGroupScope.resolve(configuration.adminGroup, groupFile: groupFile),
                    serviceAccount: configuration.serviceAccount.canonical,
                    state: installation.state(deployment: deployment, servers: servers),
                    activatedEpoch: installation.activeEpoch, keysInstalled: installation.hasInstalledKeySet,
                    installedKeySetID: header.flatMap { $0 }?.keySetID),
                database: .init(schemaVersion: schema, softwareSchemaVersion: needed, schemaMatches: matches),
                deployment: deployment.map {
                    .init(activeServer: $0.activeServer, epoch: $0.epoch, keySetID: $0.keySetID, keySetFingerprint: $0.keySetFingerprint,
                          passwordSync: .init(enabled: $0.passwordSyncEnabled, target: $0.passwordSyncTarget), updatedAt: $0.updatedAt,
                          activeHeartbeatAgeSeconds: activeAge, leaseSeconds: $0.leaseSeconds, activatedAt: $0.activatedAt)
                },
                servers: servers.map {
                    .init(name: $0.name, softwareVersion: $0.softwareVersion, role: $0.role, registeredAt: $0.registeredAt,
                          lastHeartbeat: $0.lastHeartbeat, heartbeatAgeSeconds: $0.lastHeartbeat.map { now.timeIntervalSince($0) })
                })
        }
    }

    /// The JSON encoder every `--json` output uses: sorted keys, ISO 8601 dates.
    public static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
