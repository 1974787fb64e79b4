/// Checks both stores apply the same way, so SQLite and PostgreSQL refuse the same inputs with
/// the same errors (the contract suite runs against both).
enum StoreRules {
    /// The schema a database holds must exist and must not be newer than this software's.
    static func requireSchema(_ version: Int?, location: String) throws -> Int {
        guard let version else {
            throw DeploymentError(.database, "\(location): the database holds no deployment schema yet; set up the primary server first")
        }
        guard version <= SchemaCatalog.current else {
            throw DeploymentError(.schemaMismatch,
                "\(location): the database holds schema \(version), newer than this software's schema \(SchemaCatalog.current); update this server's software")
        }
        return version
    }

    /// The checks before an activation's compare-and-set, identical in both stores: a deployment
    /// exists, the server is registered, the epoch is still the one read, and so is the key set.
    static func checkActivation(_ request: ActivationRequest, state: DeploymentState?, isRegistered: Bool) throws -> DeploymentState {
        guard let state else {
            throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
        }
        guard isRegistered else {
            throw DeploymentError(.notRegistered, "server '\(request.server)' is not registered in this deployment")
        }
        guard state.epoch == request.expectedEpoch else {
            throw DeploymentError(.conflict,
                "another server became active: the deployment moved to epoch \(state.epoch) (active server '\(state.activeServer)') since epoch \(request.expectedEpoch) was read; nothing was changed")
        }
        guard state.keySetID == request.keySetID else {
            throw DeploymentError(.keySetMismatch,
                "key set \(request.keySetID.uuidString) is not the deployment's current key set \(state.keySetID.uuidString)")
        }
        return state
    }

    /// Server and secret names: 1 to 255 characters, no control characters.
    static func checkName(_ name: String, what: String) throws {
        guard !name.isEmpty, name.count <= 255, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw DeploymentError(.invalidRequest, "invalid \(what): it must have 1 to 255 characters and no control characters")
        }
    }
}
