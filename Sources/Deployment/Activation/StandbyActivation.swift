import ErrorReporting
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
    /// The key set's generation the deployment runs on after the run (1 before any key-set change).
    public var keySetGeneration: Int64
    public var keysInstalledAt: String?
    public var forcedReason: String?
    public var adminGroup: String
    public var adminGroupScope: AdminGroupScope
    /// Warnings to show (local admin group, readable key file, ...). Never contain secrets.
    public var warnings: [DeploymentWarning]
    /// A dry run: every check of the help's list, in order, passed or not.
    public var checks: [ActivationCheck]?
    /// The switch (made, or that a dry run whose checks all passed would make).
    public var plan: PlannedSwitch?
    /// When a folder was given: every file in it and why it is or is not the one.
    public var backupChoice: BackupChoice?
    /// What to do after the switch, in the tool's words (set by the tool that prints the report).
    public var nextSteps: [String]?
    /// Whether a dry run found every check passed (`nil` otherwise).
    public var allChecksPassed: Bool?
}

/// The switch an activation makes: who is replaced, the epoch it moves from and to, and which
/// key file is installed where.
public struct PlannedSwitch: Codable, Sendable, Equatable {
    public var replaces: String
    public var fromEpoch: Int64
    public var toEpoch: Int64
    public var keyFile: String
    public var installedAs: String
    /// Seconds since the replaced server's last heartbeat, if it ever sent one.
    public var primaryHeartbeatAgeSeconds: Double?
    public var leaseSeconds: Double
}

/// One check of an activation (the help's "Checks" list), as a dry run reports it.
public struct ActivationCheck: Sendable, Equatable, Encodable {
    public enum Status: String, Codable, Sendable {
        case passed, failed
        /// The primary is alive but `--force --reason` overrides this check.
        case overridden
        /// It needs what an earlier failed check could not provide (the deployment).
        case notRun
    }

    /// 1-6, the help's numbering.
    public let number: Int
    public var status: Status
    /// What was found, or why it failed (the failure's one-line message).
    public var detail: String
    /// The failure behind `failed` (its class is the exit status).
    public var failure: (any ReportableError)? { failureBox?.error }
    let failureBox: BackupCandidate.FailureBox?
    /// The failure's exit status, in the tool's table (set by the tool that prints the report).
    public var exitCode: Int32?

    /// The check's name, as the help lists it.
    public var title: String { Self.titles[number - 1] }

    public static let titles = [
        "running as root",
        "registered standby, not already active",
        "software version matches the database schema",
        "password-sync target is this server",
        "key file intact, credentials, current key set, keys decrypt every secret",
        "current primary not alive",
    ]

    enum CodingKeys: String, CodingKey { case number, title, status, detail, errorCode, exitCode }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number, forKey: .number)
        try container.encode(title, forKey: .title)
        try container.encode(status, forKey: .status)
        try container.encode(detail, forKey: .detail)
        try container.encodeIfPresent(failure?.errorCode, forKey: .errorCode)
        try container.encodeIfPresent(exitCode, forKey: .exitCode)
    }
}

/// Runs the checks one after another, keeps each outcome and logs it (`check N/6 passed: ...`).
struct ActivationChecks {
    let logger: Logger
    private(set) var list: [ActivationCheck] = [] {
        didSet {
            guard let check = list.last, list.count > oldValue.count else { return }
            logger.debug("check \(check.number)/\(ActivationCheck.titles.count) \(check.status.rawValue): \(check.detail)")
        }
    }

    init(logger: Logger) { self.logger = logger }

    var allPassed: Bool { list.count == ActivationCheck.titles.count && list.allSatisfy { $0.status == .passed || $0.status == .overridden } }

    /// Runs check `number`; `body` returns what it found or throws the failure.
    mutating func run(_ number: Int, _ body: () async throws -> String) async -> Bool {
        do {
            list.append(ActivationCheck(number: number, status: .passed, detail: try await body(), failureBox: nil))
            return true
        } catch let error as any ReportableError {
            list.append(ActivationCheck(number: number, status: .failed, detail: error.message, failureBox: .init(error: error)))
        } catch {
            let wrapped = DeploymentError(.database, "\(error)")
            list.append(ActivationCheck(number: number, status: .failed, detail: wrapped.message, failureBox: .init(error: wrapped)))
        }
        return false
    }

    /// A check that needs the deployment's state: `notRun` without it.
    mutating func run(_ number: Int, needs state: DeploymentState?, _ body: (DeploymentState) async throws -> String) async -> Bool {
        guard let state else {
            list.append(ActivationCheck(number: number, status: .notRun, detail: "not run: it needs the deployment, which check 2 could not read", failureBox: nil))
            return false
        }
        return await run(number) { try await body(state) }
    }

    mutating func markOverridden(_ number: Int) {
        if let index = list.firstIndex(where: { $0.number == number && $0.status == .passed }) {
            list[index].status = .overridden
            logger.debug("check \(number)/\(ActivationCheck.titles.count) overridden (forced)")
        }
    }
}

/// What ``StandbyActivation/inspect(_:everyCheck:)`` found.
public struct ActivationInspection: Sendable {
    public var checks: [ActivationCheck] = []
    /// Set when every check passed.
    public var plan: ActivationPlan?
    public var alreadyActive = false
    public var state: DeploymentState?
    public var warnings: [DeploymentWarning] = []
    public var backupChoice: BackupChoice?

    /// The failure of the first failed check, in the list's order.
    public var firstFailure: (any ReportableError)? { checks.first { $0.status == .failed }?.failure }

    func with(_ checks: ActivationChecks) -> ActivationInspection {
        var copy = self
        copy.checks = checks.list
        return copy
    }
}

/// The checks of an activation that passed, ready to switch: the plan `commit` executes.
public struct ActivationPlan: Sendable {
    public let state: DeploymentState
    public let keyFile: KeyFile
    /// The verified bytes of the key file, installed as they are (they already open with the
    /// service account's credentials; no second KDF run is needed).
    let keyFileBytes: [UInt8]
    /// The key file used (the chosen one, when a folder was given).
    public let keyFilePath: String
    public let forcedReason: String?
    public let warnings: [DeploymentWarning]
    /// Seconds since the current primary's last heartbeat, if it ever sent one.
    public let primaryHeartbeatAge: TimeInterval?
    /// The lease the checks applied: the deployment's, or the requested one if longer.
    public let lease: TimeInterval

    func summary(installedAs path: String) -> PlannedSwitch {
        PlannedSwitch(replaces: state.activeServer, fromEpoch: state.epoch, toEpoch: state.epoch + 1, keyFile: keyFilePath,
                      installedAs: path, primaryHeartbeatAgeSeconds: primaryHeartbeatAge, leaseSeconds: lease)
    }
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
    /// ``requireAdministrator(effectiveUserID:)``. This runs checks 2 to 6, stopping at the first
    /// failure, which it throws. Returns `nil` when this server is already the active one.
    public func prepare(_ options: ActivationRequestOptions) async throws -> ActivationPlan? {
        let inspection = try await inspect(options, everyCheck: false)
        if let failure = inspection.firstFailure { throw failure }
        return inspection.plan
    }

    /// Runs the checks of the help's "Checks" list in order. With `everyCheck` (the dry run) a
    /// failure is recorded and the following checks still run (those that need what failed are
    /// `notRun`); without it the first failure ends the run (and is logged as a refusal).
    public func inspect(_ options: ActivationRequestOptions, everyCheck: Bool) async throws -> ActivationInspection {
        var checks = ActivationChecks(logger: logger)
        var warnings: [DeploymentWarning] = []
        var inspection = ActivationInspection()

        // 1. Root.
        // Nothing is read before it passes, not even in a dry run.
        guard await checks.run(1, {
            try Self.requireAdministrator(effectiveUserID: options.effectiveUserID)
            return "effective user ID 0"
        }) else { return inspection.with(checks) }

        // 2. Registered in this deployment, and not already active.
        var state: DeploymentState?
        let registered = await checks.run(2) {
            warnings += try InstallationPermissions.check(installation).map { DeploymentWarning($0) }
            guard let found = try await store.deployment() else {
                throw DeploymentError(.notRegistered, "the database has no deployment yet: set up a primary first", remedy: .setUpPrimary)
            }
            state = found
            let servers = try await store.servers()
            guard servers.contains(where: { $0.name == serverName }) else {
                throw DeploymentError(.notRegistered,
                    "server '\(serverName)' is not registered in this deployment", remedy: .registerStandby)
            }
            return "\(serverName) is a registered standby; the active server is \(found.activeServer) at epoch \(found.epoch)"
        }
        if registered, let state, state.activeServer == serverName {
            inspection.alreadyActive = true
            return inspection.with(checks)
        }
        guard registered || everyCheck else { return inspection.with(checks) }
        inspection.state = state

        // 3. Schema.
        let activeServer = state?.activeServer
        let schemaPassed = await checks.run(3) {
            try await checkSchema(activeServer: activeServer)
            return "software version \(installation.configuration.softwareVersion) matches the database schema"
        }
        if !schemaPassed, !everyCheck { return await refused(inspection.with(checks), options) }

        // 4. Password synchronization.
        let syncPassed = await checks.run(4, needs: state) { state in
            if state.passwordSyncEnabled, state.passwordSyncTarget != serverName {
                let target = state.passwordSyncTarget ?? "no server"
                throw DeploymentError(.passwordSyncTarget,
                    "password synchronization is enabled and directed to \(target), not to this server", remedy: .redirectPasswordSync(to: serverName))
            }
            return "password synchronization \(state.passwordSyncEnabled ? "points at this server" : "is disabled")"
        }
        if !syncPassed, !everyCheck { return await refused(inspection.with(checks), options) }

        // 5. The key file (a folder: the newest usable backup in it).
        var opened: (file: KeyFile, bytes: [UInt8], path: String)?
        let keysPassed = await checks.run(5, needs: state) { state in
            var path = options.keyFilePath
            if Self.isDirectory(path) {
                let choice = try BackupChoice.choose(in: path, state: state, credentials: options.credentials,
                                                     account: installation.configuration.serviceAccount, policy: options.kdfPolicy,
                                                     database: installation.configuration.database)
                inspection.backupChoice = choice
                guard let chosen = choice.chosen else { throw choice.bestFailure ?? DeploymentError(.keySetMismatch, "no usable key file in \(path)") }
                path = chosen.path
            }
            var fileOptions = options
            fileOptions.keyFilePath = path
            let (keyFile, bytes, fileWarnings) = try openKeyFile(fileOptions)
            warnings += fileWarnings
            try StoreRules.requireCurrentKeySet(keyFile.keySet, of: state, "the key file's key set",
                                                detail: "it is stale or from another deployment", remedy: .useCurrentBackup)
            try await DeploymentKeyCheck.verifyKeySet(keyFile.keySet, against: store)
            warnings += BackupChoice.warnings(activatingWith: path, state: state, credentials: options.credentials,
                                              account: installation.configuration.serviceAccount, policy: options.kdfPolicy,
                                              installedKeyFile: installation.installedKeyFilePath,
                                              database: installation.configuration.database)
            opened = (keyFile, bytes, path)
            return "\(path) opens, holds the current key set \(keyFile.keySet.id.lowercasedString) and decrypts every secret"
        }
        if !keysPassed, !everyCheck { return await refused(inspection.with(checks), options) }

        // 6. The current primary must not be alive (checked here to refuse before any prompt,
        // and again inside the activation's transaction, where it decides).
        var liveness: (age: TimeInterval?, lease: TimeInterval, forced: Bool)?
        let primaryPassed = await checks.run(6, needs: state) { state in
            // The database clock is read before the heartbeat age, so that the activation's age is
            // never taken later than the heartbeat's: an activation sets the winner's heartbeat to
            // its own time, so a winner found alive by its heartbeat is then always found
            // activated less than a lease ago too (27), however slow this process is between the
            // two readings. Read after, a pause past the lease made it a live primary to stop or
            // override with --force (26).
            let databaseNow = try await store.now()
            let age = try await store.activeServerHeartbeatAge()
            try FaultInjection.point("activate.heartbeat-age-read")
            let lease = StoreRules.leaseInForce(state, requested: options.requestedLease)
            let alive = StoreRules.isAlive(heartbeatAge: age, lease: lease)
            // The age is the *current* active server's: if another standby won meanwhile, say so.
            if alive, let current = try await store.deployment(), current.epoch != state.epoch {
                throw Self.anotherServerBecameActive(current)
            }
            // Judged from the activation itself (its own time), not from the row's last change.
            if alive, options.forceReason == nil, state.epoch > 1, databaseNow.timeIntervalSince(state.activatedAt) < lease {
                throw Self.anotherServerBecameActive(state)
            }
            if alive, options.forceReason == nil {
                throw StoreRules.primaryAlive(state: state, heartbeatAge: age ?? 0, lease: lease).with(.stopPrimaryOrForce)
            }
            liveness = (age, lease, alive)
            if let warning = try await ClockOffset.measure(store).warning { warnings.append(warning) }
            // Advisory: its failure must not refuse a failover.
            if let warning = (try? await store.commitDurability())?.warning { warnings.append(warning) }
            let heard = age.map { "last heartbeat \(Int($0)) s ago" } ?? "no heartbeat recorded"
            return "\(state.activeServer): \(heard), lease \(DeploymentState.formatSeconds(lease)) s" + (alive ? "; alive, overridden by --force" : "")
        }
        if let liveness, liveness.forced { checks.markOverridden(6) }
        if !primaryPassed, !everyCheck { return await refused(inspection.with(checks), options) }

        inspection.warnings = warnings
        if let state, let opened, let liveness, checks.allPassed {
            inspection.plan = ActivationPlan(state: state, keyFile: opened.file, keyFileBytes: opened.bytes, keyFilePath: opened.path,
                                             forcedReason: liveness.forced ? options.forceReason : nil, warnings: warnings,
                                             primaryHeartbeatAge: liveness.age, lease: liveness.lease)
        }
        return inspection.with(checks)
    }

    /// From check 3 on, a refusal is logged (best effort) so the audit trail shows every attempt.
    private func refused(_ inspection: ActivationInspection, _ options: ActivationRequestOptions) async -> ActivationInspection {
        if !options.dryRun, let state = inspection.state, let failure = inspection.firstFailure {
            await logRefusal(failure, state: state, options: options)
        }
        return inspection
    }

    /// What can be told about the key file before any credentials are asked for: it exists, is
    /// readable and is an intact key file (magic, checksum, structure: no password needed). A
    /// folder (the backup chooser's input) must be listable.
    public static func precheckKeyFile(_ path: String) throws {
        if isDirectory(path) {
            let listed = KeyFilePathCollector.collect([path], recursive: false)
            if listed.count == 1, let problem = listed[0].problem { throw problem }
            return
        }
        _ = try SealedKeyFile(bytes: SecureFile.read(path))
    }

    /// A typed path holding a control or bidi character (C0, DEL, C1, the bidi controls, the
    /// Unicode line separators) is refused: it is a slip of the keyboard or pasted terminal
    /// garbage, and it could not be shown back as typed.
    public static func requirePrintablePath(_ path: String) throws {
        if let scalar = DisplayUnsafeScalars.first(in: path) {
            throw KeyFileError.invalidInput("path",
                "the typed file name contains the control character \(DisplayUnsafeScalars.codePoint(scalar)); type the path again without it")
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return FileSystemPath.withCString(path) { stat($0, &status) } == 0 && (status.st_mode & S_IFMT) == S_IFDIR
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
        // The database's time of the switch, as the activation log has it: this host's clock may be off.
        try installation.recordActivation(epoch: newState.epoch, keySetID: newState.keySetID, at: newState.activatedAt)
        return report(.activated, state: newState, previous: plan.state.activeServer, forcedReason: plan.forcedReason, warnings: plan.warnings)
    }

    /// The whole activation: prepare, then (unless a dry run) commit. `confirm` is asked after
    /// every check passed and before anything changes; returning false cancels. A dry run runs
    /// every check and reports each (``ActivationReport/checks``), failed or not, without throwing.
    public func run(_ options: ActivationRequestOptions, confirm: (ActivationPlan) -> Bool = { _ in true }) async throws -> ActivationReport {
        let inspection = try await inspect(options, everyCheck: options.dryRun)
        if inspection.alreadyActive { return try await convergeAlreadyActive() }
        // Without the deployment (check 1 or 2 failed) there is nothing to plan against.
        guard let state = inspection.state, options.dryRun else {
            if let failure = inspection.firstFailure { throw failure }
            guard let plan = inspection.plan else { throw DeploymentError(.notRegistered, "the deployment could not be read") }
            guard confirm(plan) else { throw DeploymentError(.cancelled, "activation cancelled; nothing was changed") }
            var report = try await commit(plan, options: options)
            report.backupChoice = inspection.backupChoice
            report.plan = plan.summary(installedAs: installation.installedKeyFilePath)
            return report
        }
        var report = report(.dryRun, state: state, previous: state.activeServer, forcedReason: inspection.plan?.forcedReason,
                            warnings: inspection.warnings, installed: false)
        report.checks = inspection.checks
        report.allChecksPassed = inspection.plan != nil
        report.backupChoice = inspection.backupChoice
        report.plan = inspection.plan?.summary(installedAs: installation.installedKeyFilePath)
        return report
    }

    /// The "already active" answer. If a previous run crashed after the database switched but
    /// before the local epoch was recorded, recording it now completes that run.
    func convergeAlreadyActive() async throws -> ActivationReport {
        try FaultInjection.point("activate.already-active")
        guard let state = try await store.deployment() else {
            throw DeploymentError(.notRegistered, "the deployment disappeared while activating")
        }
        // Read again since the inspection found this server active: another one may have taken
        // over meanwhile. Its epoch recorded here would make this server believe it holds an
        // epoch that another one holds, and say so (found by `make chaos`).
        guard state.activeServer == serverName else { throw Self.anotherServerBecameActive(state) }
        if installation.activeEpoch != state.epoch, FileManager.default.fileExists(atPath: installation.installedKeyFilePath) {
            try installation.recordActivation(epoch: state.epoch, keySetID: state.keySetID, at: state.activatedAt)
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
    func checkSchema(activeServer: String?) async throws {
        try StoreRules.requireMatchingSchema(softwareVersion: installation.configuration.softwareVersion,
                                             databaseSchema: try await store.schemaVersion(), activeServer: activeServer)
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
            keySetID: state.keySetID, keySetFingerprint: state.keySetFingerprint, keySetGeneration: state.keySetGeneration,
            keysInstalledAt: installed && outcome != .dryRun ? installation.installedKeyFilePath : nil,
            forcedReason: forcedReason, adminGroup: group, adminGroupScope: scope, warnings: warnings)
    }
}
