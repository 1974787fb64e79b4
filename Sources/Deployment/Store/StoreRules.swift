import Foundation
import KeyFile

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
                "key set \(request.keySetID.lowercasedString) is not the deployment's current key set \(state.keySetID.lowercasedString)")
        }
        return state
    }

    /// A write on behalf of the active server: `server` must be the deployment's active server and
    /// `epoch` its current epoch, else the writer is fenced (an old primary after a failover, or a
    /// standby). Stores call this inside the write's own transaction, on the row they locked.
    static func checkFence(_ state: DeploymentState?, server: String, epoch: Int64) throws -> DeploymentState {
        guard let state else {
            throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
        }
        guard state.activeServer == server else {
            throw DeploymentError(.fenced,
                "server '\(server)' is not the active server ('\(state.activeServer)' is, at epoch \(state.epoch)); it may not write on the deployment's behalf")
        }
        guard state.epoch == epoch else {
            throw DeploymentError(.fenced,
                "server '\(server)' holds epoch \(epoch) but the deployment is at epoch \(state.epoch); it is fenced and may not write")
        }
        return state
    }

    /// What an activation decided about the current primary's liveness, recorded in its log row.
    struct LivenessDecision: Equatable {
        /// The lease in force: the deployment's, or the request's if longer.
        var lease: TimeInterval
        /// Seconds since the active server's last heartbeat (database clock), `nil` if never.
        var heartbeatAge: TimeInterval?
        /// Whether a live primary is taken over with `--force`.
        var forced: Bool
    }

    /// The "primary is not alive" rule, judged inside the activation's transaction: the active
    /// server's last heartbeat must be older than the lease in force, unless forced. A requested
    /// lease may lengthen the deployment's lease, never shorten it.
    static func checkLiveness(_ request: ActivationRequest, state: DeploymentState, heartbeatAge: TimeInterval?) throws -> LivenessDecision {
        let lease = leaseInForce(state, requested: request.requestedLease)
        let alive = isAlive(heartbeatAge: heartbeatAge, lease: lease)
        if alive, request.forceReason == nil {
            throw primaryAlive(state: state, heartbeatAge: heartbeatAge ?? 0, lease: lease)
        }
        return LivenessDecision(lease: lease, heartbeatAge: heartbeatAge, forced: alive)
    }

    /// The deployment's lease, or a requested one if longer: nothing shortens it.
    static func leaseInForce(_ state: DeploymentState, requested: TimeInterval?) -> TimeInterval {
        max(state.leaseSeconds, requested ?? 0)
    }

    /// A server is alive while its last heartbeat is younger than the lease; one that never sent
    /// a heartbeat is not.
    static func isAlive(heartbeatAge: TimeInterval?, lease: TimeInterval) -> Bool {
        heartbeatAge.map { $0 < lease } ?? false
    }

    /// The refusal of a takeover of a live primary (also given by the pre-checks of an activation).
    static func primaryAlive(state: DeploymentState, heartbeatAge: TimeInterval, lease: TimeInterval) -> DeploymentError {
        DeploymentError(.primaryAlive,
            "the current primary \(state.activeServer) sent a heartbeat \(Int(heartbeatAge)) s ago (the deployment's lease is \(DeploymentState.formatSeconds(state.leaseSeconds)) s\(lease > state.leaseSeconds ? ", \(DeploymentState.formatSeconds(lease)) s requested" : "")): it is still alive")
    }

    /// A deployment lease must lie in ``DeploymentState/leaseRange``.
    static func checkLease(_ seconds: TimeInterval) throws {
        guard seconds.isFinite, DeploymentState.leaseRange.contains(seconds) else {
            throw DeploymentError(.invalidRequest,
                "invalid lease \(seconds) s: it must lie between \(DeploymentState.formatSeconds(DeploymentState.leaseRange.lowerBound)) s and \(DeploymentState.formatSeconds(DeploymentState.leaseRange.upperBound)) s")
        }
    }


    /// A deployment lease other than the default needs schema 3 (release 1.2).
    static func leaseNeedsSchema3(version: Int) -> DeploymentError {
        DeploymentError(.schemaMismatch,
            "the database holds schema \(version), which has no lease setting (schema 3, release 1.2, adds it); upgrade the database first")
    }

    /// The log row of an administrative change made from `origin` (epoch 0 before the deployment exists).
    static func changeEntry(origin: WriteOrigin, state: DeploymentState?, detail: String) -> ActivationLogEntry {
        ActivationLogEntry(time: Date(), server: origin.server, previousServer: nil, epoch: state?.epoch ?? 0,
                           keySetID: state?.keySetID, osUser: origin.osUser, outcome: .changed, detail: detail)
    }

    /// The `detail` texts of the log's `changed` rows, identical in both stores.
    enum Change {
        static func registered(_ server: RegisteredServer, previous: RegisteredServer?) -> String {
            guard let previous else {
                return "registered server '\(server.name)' (role \(server.role.rawValue), version \(server.softwareVersion))"
            }
            var changes: [String] = []
            if previous.softwareVersion != server.softwareVersion { changes.append("version \(previous.softwareVersion) -> \(server.softwareVersion)") }
            if previous.role != server.role { changes.append("role \(previous.role.rawValue) -> \(server.role.rawValue)") }
            return "re-registered server '\(server.name)'" + (changes.isEmpty ? " (unchanged)" : ": " + changes.joined(separator: ", "))
        }

        static func unregistered(_ name: String) -> String { "unregistered server '\(name)'" }

        static func deploymentCreated(_ state: DeploymentState) -> String {
            "created the deployment: primary '\(state.activeServer)' at epoch \(state.epoch), key set \(state.keySetID.lowercasedString), lease \(DeploymentState.formatSeconds(state.leaseSeconds)) s"
        }

        static func passwordSync(enabled: Bool, target: String?, previous: DeploymentState) -> String {
            func describe(_ enabled: Bool, _ target: String?) -> String { enabled ? "enabled, target '\(target ?? "-")'" : "disabled" }
            return "password synchronization \(describe(enabled, target)) (was \(describe(previous.passwordSyncEnabled, previous.passwordSyncTarget)))"
        }

        static func lease(_ seconds: TimeInterval, previous: DeploymentState) -> String {
            "lease set to \(DeploymentState.formatSeconds(seconds)) s (was \(DeploymentState.formatSeconds(previous.leaseSeconds)) s)"
        }

        static func secret(_ name: String, keyID: KeyID, replaced: Bool) -> String {
            "secret '\(name)' \(replaced ? "replaced" : "added") (key \(keyID.rawValue))"
        }
    }

    /// Server and secret names: 1 to 255 characters, none that could forge text output (control,
    /// bidi and line/paragraph separator characters: ``DisplayUnsafeScalars``, the header text rule).
    static func checkName(_ name: String, what: String) throws {
        guard !name.isEmpty, name.count <= 255, DisplayUnsafeScalars.first(in: name) == nil else {
            throw DeploymentError(.invalidRequest,
                "invalid \(what): it must have 1 to 255 characters and no control, bidi or line-separator characters")
        }
    }
}
