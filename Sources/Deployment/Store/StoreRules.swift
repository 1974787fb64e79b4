import Foundation
import KeyFile

/// Checks both stores apply the same way, so SQLite and PostgreSQL refuse the same inputs with
/// the same errors (the contract suite runs against both).
enum StoreRules {
    /// The schema a database holds must exist and must not be newer than this software's.
    @discardableResult
    static func requireSchema(_ version: Int?, location: String) throws -> Int {
        guard let version else {
            throw DeploymentError(.database, "\(location): the database holds no deployment schema yet; set up the primary server first")
        }
        guard version <= SchemaCatalog.current else { throw newerSchema(version, location: location) }
        return version
    }

    /// A schema this software can create or migrate to: 1 up to its own.
    static func checkSchemaTarget(_ version: Int) throws {
        guard (1...SchemaCatalog.current).contains(version) else {
            throw DeploymentError(.schemaMismatch, "schema \(version) is not one this software can create (1...\(SchemaCatalog.current))")
        }
    }

    /// A binary older than the database's schema reads and writes nothing there: it cannot know
    /// what the newer schema's columns and rows mean (a key status, a generation), so a write of
    /// its could break a rule it never heard of. The reference's `Exception: 0x80230443`.
    static func newerSchema(_ version: Int, location: String) -> DeploymentError {
        DeploymentError(.schemaMismatch,
            "\(location): " + schemaMismatchText(softwareVersion: SchemaCatalog.currentSoftwareVersion, needed: SchemaCatalog.current, database: version)
            + "; this software writes nothing into a newer schema", remedy: .upgradeThisServer)
    }

    /// The migration of the schema from `from` to `to` is made by the active primary only, at the
    /// epoch it holds: every server reads the schema, and the active server is the one whose
    /// writes the deployment accepts (a standby or a fenced old primary could migrate a database
    /// that another deployment state has moved on from). `epoch` is `nil` for a server that was
    /// never activated.
    static func checkSchemaMigrator(_ state: DeploymentState?, server: String, epoch: Int64?, from: Int, to: Int) throws {
        guard let state else {
            throw DeploymentError(.notRegistered, "there is no deployment in the database yet")
        }
        let why = "only the active primary migrates the database schema (\(from) -> \(to))"
        guard let epoch else {
            throw DeploymentError(.fenced,
                "server '\(server)' is not the active server ('\(state.activeServer)' is, at epoch \(state.epoch)): \(why)",
                remedy: .upgradeActiveServerFirst(state.activeServer))
        }
        do {
            try checkFence(state, server: server, epoch: epoch)
        } catch let error as DeploymentError {
            throw DeploymentError(error.kind, "\(error.message): \(why)", remedy: .upgradeActiveServerFirst(state.activeServer))
        }
    }

    /// The reference's `Exception: 0x80230443` rule: a server acts only when its software version
    /// needs exactly the schema the database holds. `nil` when it does, else the text with its
    /// remedy (an activation refuses with it; setup and status warn with it).
    static func schemaMismatch(softwareVersion: String, databaseSchema: Int?) -> String? {
        let needed = SchemaCatalog.schema(forSoftwareVersion: softwareVersion)
        if let needed, needed == databaseSchema { return nil }
        return schemaMismatchText(softwareVersion: softwareVersion, needed: needed, database: databaseSchema)
    }

    /// The same rule as a refusal: `.schemaMismatch` with the remedy, for the activation's check 3
    /// and `check`, so that an un-updated standby hears the reference's exception from both.
    static func requireMatchingSchema(softwareVersion: String, databaseSchema: Int?, activeServer: String?) throws {
        if let mismatch = schemaMismatch(softwareVersion: softwareVersion, databaseSchema: databaseSchema) {
            throw DeploymentError(.schemaMismatch, mismatch,
                                  remedy: schemaMismatchRemedy(softwareVersion: softwareVersion, databaseSchema: databaseSchema, activeServer: activeServer))
        }
    }

    /// What resolves a mismatch: a server older than the database gets the primary's release and
    /// upgrades; one newer than the database waits for the active primary's upgrade (which
    /// migrates the schema), then upgrades too.
    static func schemaMismatchRemedy(softwareVersion: String, databaseSchema: Int?, activeServer: String?) -> Remedy {
        if let activeServer, let needed = SchemaCatalog.schema(forSoftwareVersion: softwareVersion), let databaseSchema, needed > databaseSchema {
            return .upgradeActiveServerFirst(activeServer)
        }
        return .upgradeThisServer
    }

    static func schemaMismatchText(softwareVersion: String, needed: Int?, database: Int?) -> String {
        "Exception: 0x80230443: schema mismatch: software version \(softwareVersion) needs database schema \(needed.map(String.init) ?? "unknown") but the database holds schema \(database.map(String.init) ?? "none"). This happens when the primary was updated and this warm standby was not. Update this standby to the primary's version, then try again"
    }

    /// Why a file of the deployment's key set at `generation` is not current, or `nil` when it is.
    /// The same key set at an older generation is a backup from before a rotation (or another
    /// key-set change): said as such, naming both generations. One wording for the header-level
    /// check (``BackupChoice``) and the one after opening (``requireCurrentKeySet(_:of:_:detail:remedy:)``).
    static func generationMismatch(_ generation: UInt32, of state: DeploymentState) -> String? {
        guard Int64(generation) != state.keySetGeneration else { return nil }
        return "is generation \(generation) but the deployment needs generation \(state.keySetGeneration)"
            + (Int64(generation) < state.keySetGeneration ? ": it is from before the key set last changed (a stale backup)" : "")
    }

    /// Whether `keySet` is the deployment's current key set: the same ID and fingerprint (the
    /// same keys, not merely a file claiming the ID). Throws `.keySetMismatch` naming both IDs.
    static func requireCurrentKeySet(_ keySet: KeySet, of state: DeploymentState, _ what: String = "the installed key set",
                                     detail: String? = nil, remedy: Remedy? = nil) throws {
        if keySet.id == state.keySetID, let stale = generationMismatch(keySet.generation, of: state) {
            throw DeploymentError(.keySetMismatch, "\(what) \(keySet.id.lowercasedString) \(stale)", remedy: remedy)
        }
        guard keySet.id == state.keySetID, keySet.fingerprint == state.keySetFingerprint else {
            let same = keySet.id == state.keySetID ? " (same ID, other keys: fingerprint \(keySet.fingerprint), the deployment records \(state.keySetFingerprint))" : ""
            throw DeploymentError(.keySetMismatch,
                "\(what) \(keySet.id.lowercasedString) is not the deployment's current key set \(state.keySetID.lowercasedString)\(same)"
                + (detail.map { ": \($0)" } ?? ""), remedy: remedy)
        }
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
        guard state.keySetGeneration == request.keySetGeneration else {
            throw DeploymentError(.conflict,
                "the key set changed while activating: it is at generation \(state.keySetGeneration), the key file holds generation \(request.keySetGeneration); nothing was changed")
        }
        return state
    }

    /// The checks before a key-set change's compare-and-set, identical in both stores, on the row
    /// the store locked: the writer is the active server at the epoch read (or, for an abandon's
    /// takeover, the epoch is still the one read and the active server is not alive, judged as an
    /// activation judges it), and the generation is still the one read.
    static func checkKeySetChange(_ change: KeySetChange, state row: DeploymentState?, origin: WriteOrigin,
                                  isRegistered: Bool, heartbeatAge: TimeInterval?) throws -> DeploymentState {
        guard change.generation == change.expectedGeneration + 1, !change.keys.isEmpty,
              change.keys.filter(\.isPrimary).count == 1 else {
            throw DeploymentError(.invalidRequest, "a key-set change must advance the generation by one and name exactly one primary key")
        }
        let state: DeploymentState
        if change.takeover {
            // An abandon moves the deployment to this server like an activation does: the same
            // epoch and generation compare-and-set and the same liveness rule, never forced.
            guard let read = row else { throw DeploymentError(.notRegistered, "there is no deployment in the database yet") }
            let request = ActivationRequest(server: origin.server, expectedEpoch: change.expectedEpoch, keySetID: read.keySetID,
                                            osUser: origin.osUser, detail: change.detail, keySetGeneration: change.expectedGeneration)
            state = try checkActivation(request, state: row, isRegistered: isRegistered)
            _ = try checkLiveness(request, state: state, heartbeatAge: heartbeatAge)
        } else {
            state = try checkFence(row, server: origin.server, epoch: change.expectedEpoch)
            guard state.keySetGeneration == change.expectedGeneration else {
                throw DeploymentError(.conflict,
                    "the key set changed meanwhile: it is at generation \(state.keySetGeneration), not \(change.expectedGeneration) as read; nothing was changed")
            }
            guard change.keySetID == state.keySetID else {
                throw DeploymentError(.invalidRequest, "only an abandon replaces the key set's ID")
            }
        }
        return state
    }


    /// A write on behalf of the active server: `server` must be the deployment's active server and
    /// `epoch` its current epoch, else the writer is fenced (an old primary after a failover, or a
    /// standby). Stores call this inside the write's own transaction, on the row they locked.
    @discardableResult
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
    static func keyLifecycleNeedsSchema4(version: Int) -> DeploymentError {
        DeploymentError(.schemaMismatch,
            "the database holds schema \(version), which has no key-set generations (schema 4, release 1.3, adds them); upgrade the database first")
    }

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

        static func schemaMigrated(from: Int, to: Int, by softwareVersion: String) -> String {
            "migrated the database schema \(from) -> \(to) (software version \(softwareVersion))"
        }

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

        static func keySet(_ change: KeySetChange) -> String {
            "key set \(change.reason.rawValue): generation \(change.expectedGeneration) -> \(change.generation), key set \(change.keySetID.lowercasedString): \(change.detail)"
                + (change.reencrypted.isEmpty ? "" : "; \(change.reencrypted.count) secret(s) re-encrypted")
                + (change.needsReentry.isEmpty ? "" : "; \(change.needsReentry.count) secret(s) need re-entry: \(change.needsReentry.joined(separator: ", "))")
        }

        static func keySetCreated(_ state: DeploymentState) -> String {
            "key set \(state.keySetID.lowercasedString) created at setup (generation \(state.keySetGeneration))"
        }

        static func secret(_ name: String, keyID: KeyID, replaced: Bool) -> String {
            "secret '\(name)' \(replaced ? "replaced" : "added") (key \(keyID.rawValue))"
        }
    }

    /// Server names: 1 to 255 ASCII letters, digits and `. - _`. The one rule for setup and for
    /// both stores, so a name the tools refuse cannot enter the database through another caller;
    /// such a name can never forge text output either (no control, bidi or separator characters).
    static func checkServerName(_ name: String) throws {
        guard isName(name, punctuation: ".-_") else {
            throw DeploymentError(.invalidRequest, "invalid server name: use 1 to 255 ASCII letters, digits and . - _")
        }
    }

    /// Server names are matched without regard to (ASCII) letter case wherever an administrator
    /// types one (`unregister SYNC2`, `password-sync --target Sync2`): the name as registered is
    /// the one stored and shown. An exact match wins; otherwise the one registered name equal but
    /// for case. `nil` when none matches.
    static func registeredName(_ typed: String, among names: [String]) -> String? {
        if names.contains(typed) { return typed }
        return names.first { sameServerName($0, typed) }
    }

    /// Whether two server names are one name under the rule of ``registeredName(_:among:)``.
    static func sameServerName(_ a: String, _ b: String) -> Bool {
        a.lowercased() == b.lowercased()
    }

    /// `" (registered: a, b)"`, or `" (no server is registered)"`: an unknown name's message lists
    /// the names that would have matched.
    static func registeredList(_ names: [String]) -> String {
        names.isEmpty ? " (no server is registered)" : " (registered: \(names.sorted().joined(separator: ", ")))"
    }

    /// Registration refuses a name that differs from a registered one only in letter case: the
    /// two could not be told apart by the case-insensitive matching.
    static func checkNoCaseTwin(_ name: String, among names: [String]) throws {
        if let twin = names.first(where: { $0 != name && sameServerName($0, name) }) {
            throw DeploymentError(.invalidRequest,
                "server name '\(name)' differs from the registered server '\(twin)' only in letter case; server names are matched without regard to case")
        }
    }

    /// Secret names: 1 to 255 ASCII letters, digits and `. _ - / @ :` (`crm/svc@corp:1`), for
    /// ``SecretCipher`` and both stores alike.
    static func checkSecretName(_ name: String) throws {
        guard isName(name, punctuation: "._-/@:") else {
            throw DeploymentError(.invalidRequest, "invalid secret name: use 1 to 255 ASCII letters, digits and . _ - / @ :")
        }
    }

    private static func isName(_ name: String, punctuation: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && name.utf8.allSatisfy { byte in
            let letter = byte | 0x20  // ASCII lower case
            return (0x30...0x39).contains(byte) || (0x61...0x7A).contains(letter) || punctuation.utf8.contains(byte)
        }
    }
}
