import Foundation
import KeyFile
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// What an administrator asks of `miisactivate`.
public struct ActivationRequestOptions: Sendable {
    public var keyFilePath: String
    public var credentials: Credentials
    /// Run every check, change nothing.
    public var dryRun = false
    /// Override only the "primary still alive" check; needs a reason, which is logged.
    public var forceReason: String?
    /// A lease longer than the deployment's, to be more careful than its setting; the deployment's
    /// lease (a database setting) applies when this is `nil` or shorter: nothing shortens it.
    public var requestedLease: TimeInterval?
    /// Whether a key file with KDF parameters below the floor may be used (never above the ceiling).
    public var kdfPolicy: KDFParameters.Policy = .standard
    /// The operating-system user recorded in the activation log.
    public var osUser: String
    /// The effective user ID (root is required).
    public var effectiveUserID: uid_t

    public init(keyFilePath: String, credentials: Credentials, osUser: String, effectiveUserID: uid_t) {
        self.keyFilePath = keyFilePath
        self.credentials = credentials
        self.osUser = osUser
        self.effectiveUserID = effectiveUserID
    }
}

/// The result of an activation, also `miisactivate --json`'s output (schema version 1).
public struct ActivationReport: Encodable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        /// This server became the active server.
        case activated
        /// It already was; nothing changed.
        case alreadyActive
        /// Every check passed; nothing changed because of `--dry-run`.
        case dryRun
    }

    public var schemaVersion = 1
    public var outcome: Outcome
    public var server: String
    public var previousServer: String?
    /// The deployment's epoch after the run.
    public var epoch: Int64
    public var keySetID: UUID
    public var keySetFingerprint: String
    public var keysInstalledAt: String?
    public var forcedReason: String?
    public var adminGroup: String
    public var adminGroupScope: AdminGroupScope
    /// Warnings to show (local admin group, readable key file, ...). Never contain secrets.
    public var warnings: [DeploymentWarning]
}

/// The checks of an activation that passed, ready to switch: the plan `commit` executes.
public struct ActivationPlan: Sendable {
    public let state: DeploymentState
    public let keyFile: KeyFile
    /// The verified bytes of the key file, installed as they are (they already open with the
    /// service account's credentials; no second KDF run is needed).
    let keyFileBytes: [UInt8]
    public let forcedReason: String?
    public let warnings: [DeploymentWarning]
    /// Seconds since the current primary's last heartbeat, if it ever sent one.
    public let primaryHeartbeatAge: TimeInterval?
    /// The lease the checks applied: the deployment's, or the requested one if longer.
    public let lease: TimeInterval
}

/// Promotes a standby to the deployment's active server: the reference's `miisactivate`.
///
/// ``prepare(_:)`` runs every check in the documented order and changes nothing;
/// ``commit(_:options:)`` installs the keys (atomically, 0600) and then moves the deployment to
/// this server by compare-and-set on the epoch read, logging the activation in the same
/// transaction. A crash between the two leaves the database unchanged, and a re-run converges.
public struct StandbyActivation: Sendable {
    public let installation: ServerInstallation
    public let store: any DeploymentStore
    let logger: Logger

    public init(installation: ServerInstallation, store: any DeploymentStore, logger: Logger = Logger(label: "miis.activation")) {
        self.installation = installation
        self.store = store
        self.logger = logger
    }

    var serverName: String { installation.configuration.serverName }

    /// Checks 1 (root) must be done by the caller before anything else is touched; see
    /// ``requireAdministrator(effectiveUserID:)``. This runs checks 2 to 6. Returns `nil` when
    /// this server is already the active one (after converging its local state).
    public func prepare(_ options: ActivationRequestOptions) async throws -> ActivationPlan? {
        try Self.requireAdministrator(effectiveUserID: options.effectiveUserID)
        logger.debug("check 1/6 passed: running as root")
        var warnings: [DeploymentWarning] = []
        warnings += try InstallationPermissions.check(installation).map { DeploymentWarning($0) }

        // 2. Registered in this deployment, and not already active.
        guard let state = try await store.deployment() else {
            throw DeploymentError(.notRegistered, "the database has no deployment yet: set up a primary first", remedy: .setUpPrimary)
        }
        let servers = try await store.servers()
        guard servers.contains(where: { $0.name == serverName }) else {
            throw DeploymentError(.notRegistered,
                "server '\(serverName)' is not registered in this deployment", remedy: .registerStandby)
        }
        if state.activeServer == serverName { return nil }
        logger.debug("check 2/6 passed: \(serverName) is a registered standby; active server is \(state.activeServer) at epoch \(state.epoch)")

        // From here on, refusals are logged (best effort) so the audit trail shows every attempt.
        do {
            // 3. Schema.
            try await checkSchema()
            logger.debug("check 3/6 passed: software version \(installation.configuration.softwareVersion) matches the database schema")
            // 4. Password synchronization.
            if state.passwordSyncEnabled, state.passwordSyncTarget != serverName {
                let target = state.passwordSyncTarget ?? "no server"
                throw DeploymentError(.passwordSyncTarget,
                    "password synchronization is enabled and directed to \(target), not to this server", remedy: .redirectPasswordSync(to: serverName))
            }
            logger.debug("check 4/6 passed: password synchronization \(state.passwordSyncEnabled ? "points at this server" : "is disabled")")
            // 5. The key file.
            let (keyFile, bytes, fileWarnings) = try openKeyFile(options)
            warnings += fileWarnings
            try StoreRules.requireCurrentKeySet(keyFile.keySet, of: state, "the key file's key set",
                                                detail: "it is stale or from another deployment", remedy: .useCurrentBackup)
            try await DeploymentKeyCheck.verifyKeySet(keyFile.keySet, against: store)
            logger.debug("check 5/6 passed: \(options.keyFilePath) opens, holds the current key set and decrypts every secret")
            // 6. The current primary must not be alive (checked here to refuse before any prompt,
            // and again inside the activation's transaction, where it decides).
            let age = try await store.activeServerHeartbeatAge()
            let lease = StoreRules.leaseInForce(state, requested: options.requestedLease)
            let alive = StoreRules.isAlive(heartbeatAge: age, lease: lease)
            // The age is the *current* active server's: if another standby won meanwhile, say so.
            if alive, let current = try await store.deployment(), current.epoch != state.epoch {
                throw Self.anotherServerBecameActive(current)
            }
            // Judged from the activation itself (its own time), not from the row's last change.
            if alive, options.forceReason == nil, state.epoch > 1, try await store.now().timeIntervalSince(state.activatedAt) < lease {
                throw Self.anotherServerBecameActive(state)
            }
            if alive, options.forceReason == nil {
                throw StoreRules.primaryAlive(state: state, heartbeatAge: age ?? 0, lease: lease).with(.stopPrimaryOrForce)
            }
            logger.debug("check 6/6 \(alive ? "overridden (forced)" : "passed"): last primary heartbeat \(age.map { "\(Int($0)) s ago" } ?? "never"), lease \(DeploymentState.formatSeconds(lease)) s")
            return ActivationPlan(state: state, keyFile: keyFile, keyFileBytes: bytes,
                                  forcedReason: alive ? options.forceReason : nil, warnings: warnings, primaryHeartbeatAge: age,
                                  lease: lease)
        } catch {
            if !options.dryRun { await logRefusal(error, state: state, options: options) }
            throw error
        }
    }

    /// Installs the keys and switches the deployment to this server.
    public func commit(_ plan: ActivationPlan, options: ActivationRequestOptions) async throws -> ActivationReport {
        // Through the checked keys/ directory: a keys/ swapped for a link meanwhile is not followed.
        try installation.installKeyFile(plan.keyFileBytes, replace: true)
        logger.debug("keys installed at \(installation.installedKeyFilePath)")
        try FaultInjection.point("activate.after-keys-installed")
        let newState: DeploymentState
        do {
            // The store re-checks the epoch and the primary's liveness in the switch's own
            // transaction: a primary that came back while the confirmation prompt was open wins.
            var detail = "activated by miisactivate"
            if let reason = options.forceReason { detail += " (forced: \(reason))" }
            newState = try await store.activate(ActivationRequest(
                server: serverName, expectedEpoch: plan.state.epoch, keySetID: plan.keyFile.keySet.id,
                osUser: options.osUser, detail: detail, requestedLease: options.requestedLease, forceReason: options.forceReason,
                keySetGeneration: Int64(plan.keyFile.keySet.generation)))
        } catch let error as DeploymentError where error.kind == .conflict || error.kind == .primaryAlive {
            let refusal = error.kind == .primaryAlive ? error.with(.stopPrimaryOrForce) : error
            await logRefusal(refusal, state: plan.state, options: options)
            throw refusal
        }
        try FaultInjection.point("activate.after-commit")
        try installation.recordActivation(epoch: newState.epoch, keySetID: newState.keySetID)
        return report(.activated, state: newState, previous: plan.state.activeServer, forcedReason: plan.forcedReason, warnings: plan.warnings)
    }

    /// The whole activation: prepare, then (unless a dry run) commit. `confirm` is asked after
    /// every check passed and before anything changes; returning false cancels.
    public func run(_ options: ActivationRequestOptions, confirm: (ActivationPlan) -> Bool = { _ in true }) async throws -> ActivationReport {
        guard let plan = try await prepare(options) else { return try await convergeAlreadyActive() }
        if options.dryRun {
            return report(.dryRun, state: plan.state, previous: plan.state.activeServer, forcedReason: plan.forcedReason,
                          warnings: plan.warnings, installed: false)
        }
        guard confirm(plan) else { throw DeploymentError(.cancelled, "activation cancelled; nothing was changed") }
        return try await commit(plan, options: options)
    }

    /// The "already active" answer. If a previous run crashed after the database switched but
    /// before the local epoch was recorded, recording it now completes that run.
    func convergeAlreadyActive() async throws -> ActivationReport {
        guard let state = try await store.deployment() else {
            throw DeploymentError(.notRegistered, "the deployment disappeared while activating")
        }
        if installation.activeEpoch != state.epoch, FileManager.default.fileExists(atPath: installation.installedKeyFilePath) {
            try installation.recordActivation(epoch: state.epoch, keySetID: state.keySetID)
        }
        return report(.alreadyActive, state: state, previous: nil, forcedReason: nil, warnings: [])
    }

    // MARK: - Steps

    /// Check 1: "Local Administrator privileges are required".
    public static func requireAdministrator(effectiveUserID: uid_t) throws {
        guard effectiveUserID == 0 else {
            throw DeploymentError(.notAdministrator,
                "Local Administrator privileges are required to run miisactivate: run it as root (for example with sudo)")
        }
    }

    /// Check 3: the schema this server's software needs is the one the database holds.
    func checkSchema() async throws {
        let databaseSchema = try await store.schemaVersion()
        if let mismatch = StoreRules.schemaMismatch(softwareVersion: installation.configuration.softwareVersion, databaseSchema: databaseSchema) {
            throw DeploymentError(.schemaMismatch, mismatch)
        }
    }

    /// A standby that lost a race learns that another server became active, not merely that a
    /// primary is alive.
    static func anotherServerBecameActive(_ state: DeploymentState) -> DeploymentError {
        DeploymentError(.conflict,
            "another server became active: \(state.activeServer) took over at epoch \(state.epoch) while this activation was being prepared; nothing was changed")
    }

    func openKeyFile(_ options: ActivationRequestOptions) throws -> (KeyFile, [UInt8], [DeploymentWarning]) {
        let warnings = try InstallationPermissions.checkKeyFile(options.keyFilePath).map { DeploymentWarning($0) }
        let bytes = try SecureFile.read(options.keyFilePath)
        let keyFile = try SealedKeyFile(bytes: bytes).open(with: options.credentials, policy: options.kdfPolicy)
        guard keyFile.header.account == installation.configuration.serviceAccount else {
            throw DeploymentError(.invalidRequest,
                "the key file is bound to account '\(keyFile.header.account)' but this server's service account is '\(installation.configuration.serviceAccount)'", remedy: .repairAccount)
        }
        return (keyFile, bytes, warnings)
    }

    func logRefusal(_ error: any Error, state: DeploymentState, options: ActivationRequestOptions) async {
        let reason = (error as? DeploymentError)?.message ?? (error as? KeyFileError)?.message ?? "\(error)"
        let entry = ActivationLogEntry(
            time: (try? await store.now()) ?? Date(), server: serverName, previousServer: state.activeServer,
            epoch: state.epoch, keySetID: state.keySetID, osUser: options.osUser, outcome: .refused, detail: reason)
        try? await store.appendLog(entry)
    }

    func report(_ outcome: ActivationReport.Outcome, state: DeploymentState, previous: String?, forcedReason: String?,
                warnings: [DeploymentWarning], installed: Bool = true) -> ActivationReport {
        let group = installation.configuration.adminGroup
        let scope = AdminGroupScope.resolve(group)
        var warnings = warnings
        if outcome == .activated, let warning = scope.warning(group: group) { warnings.append(warning) }
        return ActivationReport(
            outcome: outcome, server: serverName, previousServer: previous, epoch: state.epoch,
            keySetID: state.keySetID, keySetFingerprint: state.keySetFingerprint,
            keysInstalledAt: installed && outcome != .dryRun ? installation.installedKeyFilePath : nil,
            forcedReason: forcedReason, adminGroup: group, adminGroupScope: scope, warnings: warnings)
    }
}
