import Foundation
import KeyFile

/// The service pack: `miisserver upgrade`, run on each server after its new binaries are
/// installed, the active primary first.
extension DeploymentAdministration {
    /// What an upgrade of one server does (a dry run's plan) or did.
    public struct UpgradePlan: Sendable, Equatable {
        /// One schema step the migration applies.
        public struct Step: Codable, Sendable, Equatable {
            public var schema: Int
            public var release: String
            public var summary: String
        }

        /// A registered server whose software needs another schema than the upgraded database's:
        /// it is refused (`Exception: 0x80230443`) until it is upgraded too.
        public struct OutdatedServer: Codable, Sendable, Equatable {
            public var name: String
            public var softwareVersion: String
        }

        public var server: String
        /// How this server stands in the deployment (only an active one may migrate).
        public var state: InstallationState
        /// The deployment's epoch when the plan was made.
        public var epoch: Int64
        /// The schema the database holds, and the one it holds after the upgrade.
        public var fromSchema: Int
        public var toSchema: Int
        public var steps: [Step]
        /// This server's software version as registered in the database and recorded in
        /// server.json before the upgrade, and this binary's, which the upgrade records in both.
        public var registeredSoftwareVersion: String
        public var recordedSoftwareVersion: String
        public var softwareVersion: String
        /// The other servers refused until they are upgraded too.
        public var outdatedServers: [OutdatedServer]

        /// Whether the database's schema changes.
        public var migratesSchema: Bool { fromSchema < toSchema }
        /// Whether anything changes: the schema, the registration or server.json.
        public var isNoOp: Bool {
            !migratesSchema && registeredSoftwareVersion == softwareVersion && recordedSoftwareVersion == softwareVersion
        }
    }

    /// What `upgrade` did: the plan as carried out (another server's concurrent upgrade may have
    /// done part of it first), the installation as it is now, and warnings.
    public struct UpgradeOutcome: Sendable {
        public var plan: UpgradePlan
        public var installation: ServerInstallation
        public var warnings: [DeploymentWarning]
        /// Whether this run changed anything.
        public var changed: Bool
    }

    /// Upgrades this server to this binary's release: on the active primary, migrates the schema
    /// to this binary's (``SchemaCatalog/current``) in one transaction under the migration lock;
    /// on every server, re-registers its software version (in the same transaction) and records
    /// it in server.json; the database logs both. Refused with `.fenced` (nothing written) when
    /// the schema needs migrating and this server is not the active one at its epoch, and with
    /// the reference's `Exception: 0x80230443` when this binary is older than the schema.
    /// `database` is another location of the same deployment's database for this run only (the
    /// PostgreSQL owner role, which may alter tables); `dryRun` only plans. A server already up
    /// to date is not written to at all.
    public static func upgrade(_ installation: ServerInstallation, database: String? = nil, dryRun: Bool = false) async throws -> UpgradeOutcome {
        var warnings: [DeploymentWarning] = []
        var location = installation.configuration.database
        if let database {
            let (verified, databaseWarnings) = try await verifiedDatabaseLocation(database, for: installation)
            location = verified
            warnings += databaseWarnings
        }
        let name = installation.configuration.serverName
        return try await DeploymentStoreFactory.withStore(location: location) { store in
            let schema = try StoreRules.requireSchema(try await store.schemaVersion(), location: location)
            let deployment = try await requireDeployment(store)
            let servers = try await store.servers()
            guard let registration = servers.first(where: { $0.name == name }) else {
                throw DeploymentError(.notRegistered, "server '\(name)' is not registered in this deployment", remedy: .registerStandby)
            }
            var plan = upgradePlan(installation, registration: registration, deployment: deployment, servers: servers, schema: schema)
            if plan.migratesSchema {
                try StoreRules.checkSchemaMigrator(deployment, server: name, epoch: installation.activeEpoch,
                                                   from: plan.fromSchema, to: plan.toSchema)
            }
            if dryRun || plan.isNoOp {
                return UpgradeOutcome(plan: plan, installation: installation, warnings: warnings, changed: false)
            }
            let result = try await store.upgrade(SchemaUpgradeRequest(
                server: name, softwareVersion: plan.softwareVersion, schema: plan.toSchema,
                epoch: installation.activeEpoch, origin: writeOrigin(name)))
            try FaultInjection.point("upgrade.after-commit")
            // As carried out: a concurrent upgrade may have migrated or re-registered first.
            plan.fromSchema = result.fromSchema
            plan.registeredSoftwareVersion = result.previousSoftwareVersion
            if !plan.migratesSchema { plan.steps = [] }
            var configuration = installation.configuration
            configuration.softwareVersion = plan.softwareVersion
            // After the commit: server.json never claims a version the database does not hold; a
            // crash in between leaves a re-run to finish (the database part is then a no-op).
            let updated = plan.recordedSoftwareVersion == plan.softwareVersion ? installation : try installation.updating(configuration)
            return UpgradeOutcome(plan: plan, installation: updated, warnings: warnings,
                                  changed: result.changedDatabase || plan.recordedSoftwareVersion != plan.softwareVersion)
        }
    }

    static func upgradePlan(_ installation: ServerInstallation, registration: RegisteredServer, deployment: DeploymentState,
                            servers: [RegisteredServer], schema: Int) -> UpgradePlan {
        let target = max(schema, SchemaCatalog.current)
        let name = installation.configuration.serverName
        return UpgradePlan(
            server: name, state: installation.state(deployment: deployment, servers: servers), epoch: deployment.epoch,
            fromSchema: schema, toSchema: target,
            steps: SchemaSteps.steps(from: schema, to: target).map { UpgradePlan.Step(schema: $0.version, release: $0.release, summary: $0.summary) },
            registeredSoftwareVersion: registration.softwareVersion,
            recordedSoftwareVersion: installation.configuration.softwareVersion,
            softwareVersion: SchemaCatalog.currentSoftwareVersion,
            outdatedServers: servers.filter { $0.name != name && SchemaCatalog.schema(forSoftwareVersion: $0.softwareVersion) != target }
                .map { UpgradePlan.OutdatedServer(name: $0.name, softwareVersion: $0.softwareVersion) })
    }
}
