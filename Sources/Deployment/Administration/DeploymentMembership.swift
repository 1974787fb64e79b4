import ErrorReporting
import Foundation
import KeyFile

// Which database a server uses, and which servers the deployment counts.
extension DeploymentAdministration {
    /// A SQLite location as `server.json` records it (absolute: it must not depend on the
    /// directory a command ran from); a PostgreSQL URL as given.
    static func recordedDatabaseLocation(_ location: String) -> String {
        DeploymentStoreFactory.engine(for: location) == .sqlite ? URL(fileURLWithPath: location).standardizedFileURL.path : location
    }

    /// Checks that `location` reaches the deployment `installation` belongs to, before repair
    /// records it in `server.json`: another role on the same database (docs/postgresql.md's
    /// runtime role), the database moved to another host, a SQLite file moved. Returns the
    /// location to record and warnings.
    ///
    /// The new database must hold a deployment in which this server is registered (else
    /// `.notRegistered`), with the key set this server has installed and an epoch no older than
    /// the one this server was activated at (else `.database`: another deployment, or an older
    /// copy of this one, on which a fenced server would look active again). When the current
    /// database answers, the new one must hold its key set at an epoch no older than its
    /// epoch; when it does not (the reason to move, often), the local facts are all there is
    /// to compare and a warning says so.
    static func verifiedDatabaseLocation(_ location: String, for installation: ServerInstallation) async throws -> (String, [DeploymentWarning]) {
        let location = recordedDatabaseLocation(location)
        let name = installation.configuration.serverName
        let current = installation.configuration.database
        guard location != current else { return (location, []) }
        let target = try await DeploymentStoreFactory.withStore(location: location) { store -> DeploymentState in
            guard try await store.schemaVersion() != nil, let state = try await store.deployment() else {
                throw DeploymentError(.notRegistered, "\(location) holds no deployment; it is not the database of server '\(name)'")
            }
            guard try await store.servers().contains(where: { $0.name == name }) else {
                throw DeploymentError(.notRegistered, "server '\(name)' is not registered in the deployment at \(location); is it this deployment's database?")
            }
            return state
        }
        func refuse(_ reason: String) -> DeploymentError {
            DeploymentError(.database, "\(location) is not the database of this deployment: \(reason); server.json is unchanged")
        }
        if let header = try installation.installedKeyFileHeader(), header.keySetID != target.keySetID {
            throw refuse("it holds key set \(target.keySetID.lowercasedString), this server has \(header.keySetID.lowercasedString) installed")
        }
        if let held = installation.activeEpoch, held > target.epoch {
            throw refuse("it is at epoch \(target.epoch), older than epoch \(held) this server was activated at (an old copy?)")
        }
        let checkedOnly = "checked \(location) against this server's registration\(installation.hasInstalledKeySet ? " and installed key set" : "") only"
        let old: DeploymentState?
        do {
            old = try await DeploymentStoreFactory.withStore(location: current) { try await $0.deployment() }
        } catch {
            let reason = (error as? any ReportableError)?.message ?? "\(error)"
            return (location, [DeploymentWarning("the current database \(current) did not answer (\(reason)); \(checkedOnly)")])
        }
        guard let old else { return (location, [DeploymentWarning("the current database \(current) holds no deployment; \(checkedOnly)")]) }
        if old.keySetID != target.keySetID {
            throw refuse("it holds key set \(target.keySetID.lowercasedString), the current database \(old.keySetID.lowercasedString)")
        }
        if old.epoch > target.epoch {
            throw refuse("it is at epoch \(target.epoch), the current database at epoch \(old.epoch) (an old copy?)")
        }
        return (location, [])
    }

    /// Retires server `name` from the deployment (a host that is gone): its registration is
    /// removed and the change logged, naming this server and the operator. The store refuses the
    /// active server (`.invalidRequest`) and an unknown name (`.notRegistered`). Returns warnings:
    /// password synchronization still directed to the retired server (to be redirected to the
    /// active one, where the reference's pcnscfg points it).
    public static func unregister(_ installation: ServerInstallation, server name: String) async throws -> [DeploymentWarning] {
        try await withStore(installation) { store in
            let me = installation.configuration.serverName
            guard try await store.servers().contains(where: { $0.name == me }) else {
                throw DeploymentError(.notRegistered, "server '\(me)' is not registered in the deployment; run the command on one of its servers")
            }
            try await store.unregister(name, origin: writeOrigin(me))
            let state = try await requireDeployment(store)
            guard state.passwordSyncEnabled, let target = state.passwordSyncTarget, StoreRules.sameServerName(target, name) else { return [] }
            return [DeploymentWarning("password synchronization is still directed to '\(target)'", remedy: .redirectPasswordSync(to: state.activeServer))]
        }
    }
}
