import ErrorReporting
import Foundation
import KeyFile
import Logging

/// The decisions behind `miisserver`: setting servers up, repairing them, reporting status, and
/// the day-to-day operations (password-sync target, secrets, heartbeat, check, history).
/// Every function opens the installation's database, does one job and closes it.
public enum DeploymentAdministration {
    static let logger = Logger(label: "miis.deployment")

    public static let defaultAdminGroup = "MIISSyncAdmins"

    /// What `setup` needs.
    public struct SetupRequest: Sendable {
        public var installDirectory: String
        public var serverName: String
        public var database: String
        public var role: ServerRole
        public var serviceAccount: ServiceAccount
        public var adminGroup: String
        /// The software version recorded in server.json and the registration: always this
        /// binary's (``SchemaCatalog/currentSoftwareVersion``), never the caller's choice.
        public var softwareVersion: String { SchemaCatalog.currentSoftwareVersion }
        public var kdf: KDFParameters
        public var kdfPolicy: KDFParameters.Policy
        /// A primary's deployment lease, in seconds (ignored for a standby).
        public var leaseSeconds: TimeInterval

        public init(installDirectory: String, serverName: String, database: String, role: ServerRole, serviceAccount: ServiceAccount,
                    adminGroup: String = DeploymentAdministration.defaultAdminGroup,
                    kdf: KDFParameters = .recommended, kdfPolicy: KDFParameters.Policy = .standard,
                    leaseSeconds: TimeInterval = DeploymentState.defaultLeaseSeconds) {
            self.installDirectory = installDirectory
            self.serverName = serverName
            self.database = database
            self.role = role
            self.serviceAccount = serviceAccount
            self.adminGroup = adminGroup
            self.kdf = kdf
            self.kdfPolicy = kdfPolicy
            self.leaseSeconds = leaseSeconds
        }
    }

    /// What `setup` did.
    public struct SetupOutcome: Sendable {
        public var installation: ServerInstallation
        public var databaseSchema: Int
        /// Set for a primary.
        public var keySetID: UUID?
        public var keySetFingerprint: String?
        /// Human-readable warnings (schema mismatch of a standby, local admin group).
        public var warnings: [DeploymentWarning]
    }

    /// Sets up a new server installation. A primary creates or migrates the schema, generates and
    /// installs the key set (sealed with `password` for the service account), registers itself and
    /// creates the deployment at epoch 1. A standby registers itself and installs no keys.
    /// `password` is required for a primary and ignored for a standby.
    public static func setup(_ request: SetupRequest, password: Password?,
                             groupFile: String = "/etc/group") async throws -> SetupOutcome {
        var request = request
        request.database = recordedDatabaseLocation(request.database)
        guard let neededSchema = SchemaCatalog.schema(forSoftwareVersion: request.softwareVersion) else {
            throw DeploymentError(.invalidRequest, "unknown software version '\(request.softwareVersion)'; known releases: \(SchemaCatalog.schemaForRelease.keys.sorted().joined(separator: ", "))")
        }
        try StoreRules.checkServerName(request.serverName)
        if request.role == .primary { try StoreRules.checkLease(request.leaseSeconds) }
        let origin = writeOrigin(request.serverName)
        guard !request.adminGroup.isEmpty else { throw DeploymentError(.invalidRequest, "the admin group must not be empty") }
        let configurationPath = "\(request.installDirectory)/\(ServerInstallation.configurationFileName)"
        let alreadySetUp = DeploymentError(.installation, "\(configurationPath) already exists: this server is already set up", remedy: .repairInsteadOfSetup)
        // A setup that crashed part-way left server.json (and maybe keys/) but not the deployment
        // row or the registration: the same request resumes it (see `resumable` below). Anything
        // else with a server.json is an installation that exists.
        var resuming: ServerInstallation?
        if FileManager.default.fileExists(atPath: configurationPath) {
            guard let existing = try? ServerInstallation(directory: request.installDirectory),
                  existing.configuration == configuration(for: request) else { throw alreadySetUp }
            resuming = existing
        }
        if DeploymentStoreFactory.engine(for: request.database) == .sqlite, request.role == .standby,
           !FileManager.default.fileExists(atPath: request.database) {
            throw DeploymentError(.database, "\(request.database): no such database file; set up the primary server first")
        }
        return try await DeploymentStoreFactory.withStore(location: request.database, create: request.role == .primary) { store in
            var warnings: [DeploymentWarning] = []
            let schema: Int
            switch request.role {
            case .primary:
                guard let password else { throw DeploymentError(.invalidRequest, "setting up a primary needs the service account's password") }
                let existing = try await store.schemaVersion()
                if let existing, existing > neededSchema {
                    throw StoreRules.newerSchema(existing, location: request.database)
                }
                if existing != nil, let deployment = try await store.deployment() {
                    if let resuming, deployment.activeServer == request.serverName {
                        // Crashed after the deployment row was committed, before activation.json: finish.
                        return try await finishInterruptedPrimarySetup(resuming, deployment: deployment, schema: existing ?? neededSchema,
                                                                        request: request, groupFile: groupFile, alreadySetUp: alreadySetUp)
                    }
                    throw DeploymentError(.invalidRequest,
                        "the deployment already has a primary ('\(deployment.activeServer)')", remedy: .setUpAsStandby)
                }
                if existing != neededSchema { try await store.migrate(to: neededSchema) }
                schema = neededSchema
                // Without a deployment row nothing refers to a registration or installed keys yet: when
                // resuming, this server's own registration is re-written (register is an upsert) and the
                // uncommitted key file is replaced by a fresh one.
                if resuming == nil, try await store.servers().contains(where: { $0.name == request.serverName }) {
                    throw DeploymentError(.invalidRequest, "a server named '\(request.serverName)' is already registered in this deployment")
                }
                let keySet = try KeySet.generate()
                let file = try KeyFile(keySet: keySet, account: request.serviceAccount, sourceServer: request.serverName,
                                       kdf: request.kdf, policy: request.kdfPolicy)
                let installation: ServerInstallation
                if let resuming {
                    try? FileManager.default.removeItem(atPath: resuming.activationRecordPath)
                    installation = resuming
                } else {
                    installation = try ServerInstallation.create(directory: request.installDirectory, configuration: configuration(for: request), replace: false)
                }
                var registrationSent = false
                var deploymentSent = false
                do {
                    try FaultInjection.point("setup.after-configuration")
                    try installation.installKeySet(file, credentials: Credentials(account: request.serviceAccount, password: password), replace: resuming != nil)
                    try FaultInjection.point("setup.after-keys-installed")
                    let now = try await store.now()
                    // Set before the call: a registration whose COMMIT answer was lost is undone too.
                    registrationSent = true
                    try await store.register(RegisteredServer(name: request.serverName, softwareVersion: request.softwareVersion, role: .primary, registeredAt: now),
                                             origin: origin)
                    try FaultInjection.point("setup.after-register")
                    let state = DeploymentState(activeServer: request.serverName, epoch: 1, keySetID: keySet.id,
                                                keySetFingerprint: keySet.fingerprint, updatedAt: now, leaseSeconds: request.leaseSeconds)
                    // From here on the row may be committed even when the call throws (a COMMIT whose
                    // answer was lost): the database decides what the local files are.
                    deploymentSent = true
                    try await store.createDeployment(state, checkValues: DeploymentKeyCheck.checkValues(of: keySet), origin: origin)
                    try FaultInjection.point("setup.after-deployment-created")
                    try installation.recordActivation(epoch: 1, keySetID: keySet.id, at: state.activatedAt)
                } catch {
                    let row = await readAfterFailure { try await store.deployment() }
                    if deploymentSent {
                        // A committed row names this key set: deleting keyset.bin would leave a
                        // deployment whose keys exist nowhere, and a re-run would only say "already has
                        // a primary". Keep everything; the same setup finishes it
                        // (`finishInterruptedPrimarySetup`), and so does a re-run when the row was not
                        // committed after all (it resumes from server.json).
                        switch row {
                        case .success(let deployment?) where deployment.activeServer == request.serverName && deployment.keySetID == keySet.id:
                            throw keptAfterFailure(error,
                                "the deployment row of '\(request.serverName)' is committed, so the installation at \(installation.directory) was kept")
                        case .failure(let readError):
                            throw keptAfterFailure(error,
                                "whether the deployment row of '\(request.serverName)' was committed cannot be read (\(readError)), so the installation at \(installation.directory) was kept")
                        case .success:
                            break
                        }
                    }
                    // Nothing in the database refers to these files (no row, or another primary's):
                    // undo the registration (unless the row is a same-named server's) and the local
                    // files, so that setup can be re-run.
                    if registrationSent, (try? row.get())?.activeServer != request.serverName {
                        try? await store.unregister(request.serverName, origin: origin)
                    }
                    try? FileManager.default.removeItem(atPath: installation.installedKeyFilePath)
                    try? FileManager.default.removeItem(atPath: installation.activationRecordPath)
                    try? FileManager.default.removeItem(atPath: installation.configurationPath)
                    throw error
                }
                warnings += adminGroupWarnings(request.adminGroup, groupFile: groupFile)
                return SetupOutcome(installation: installation, databaseSchema: schema, keySetID: keySet.id,
                                    keySetFingerprint: keySet.fingerprint, warnings: warnings)
            case .standby:
                let existing = try StoreRules.requireSchema(try await store.schemaVersion(), location: request.database)
                schema = existing
                guard let deployment = try await store.deployment() else {
                    throw DeploymentError(.notRegistered, "the database holds no deployment yet; set up the primary server first")
                }
                if try await store.servers().contains(where: { $0.name == request.serverName }) {
                    // A resumed standby whose registration was committed is complete.
                    if resuming != nil { throw alreadySetUp }
                    throw DeploymentError(.invalidRequest, "a server named '\(request.serverName)' is already registered in this deployment")
                }
                if let mismatch = StoreRules.schemaMismatch(softwareVersion: request.softwareVersion, databaseSchema: existing) {
                    warnings.append(DeploymentWarning(mismatch, remedy: StoreRules.schemaMismatchRemedy(
                        softwareVersion: request.softwareVersion, databaseSchema: existing, activeServer: deployment.activeServer)))
                }
                let installation = try resuming
                    ?? ServerInstallation.create(directory: request.installDirectory, configuration: configuration(for: request), replace: false)
                var registrationSent = false
                do {
                    try FaultInjection.point("setup.after-configuration")
                    let now = try await store.now()
                    registrationSent = true
                    try await store.register(RegisteredServer(name: request.serverName, softwareVersion: request.softwareVersion, role: .standby, registeredAt: now),
                                             origin: origin)
                } catch {
                    if registrationSent {
                        // The same rule as a primary's: server.json goes only when the database is known
                        // not to hold this registration (a re-run would otherwise answer "already
                        // registered" to an installation that no longer exists).
                        switch await readAfterFailure({ try await store.servers() }) {
                        case .success(let servers) where servers.contains(where: {
                            $0.name == request.serverName && $0.role == .standby && $0.softwareVersion == request.softwareVersion
                        }):
                            throw keptAfterFailure(error,
                                "server '\(request.serverName)' is registered in the deployment all the same, so the installation at \(installation.directory) was kept: the standby is set up", remedy: nil)
                        case .failure(let readError):
                            throw keptAfterFailure(error,
                                "whether the registration of '\(request.serverName)' was committed cannot be read (\(readError)), so the installation at \(installation.directory) was kept")
                        case .success:
                            break
                        }
                    }
                    try? FileManager.default.removeItem(atPath: installation.configurationPath)
                    throw error
                }
                return SetupOutcome(installation: installation, databaseSchema: schema, keySetID: nil, keySetFingerprint: nil, warnings: warnings)
            }
        }
    }

    /// Completes a primary setup that crashed after its deployment row was committed but before
    /// `activation.json` was written: the installed key file must hold the deployment's key set.
    private static func finishInterruptedPrimarySetup(
        _ installation: ServerInstallation, deployment: DeploymentState, schema: Int, request: SetupRequest,
        groupFile: String, alreadySetUp: DeploymentError
    ) async throws -> SetupOutcome {
        guard installation.activeEpoch == nil, deployment.epoch == 1 else { throw alreadySetUp }
        guard let header = try installation.installedKeyFileHeader(), header.keySetID == deployment.keySetID else {
            throw DeploymentError(.keySetMismatch,
                "\(installation.installedKeyFilePath) does not hold the deployment's key set \(deployment.keySetID.lowercasedString)", remedy: .restoreKeySetAndRepair)
        }
        try installation.recordActivation(epoch: deployment.epoch, keySetID: deployment.keySetID, at: deployment.activatedAt)
        return SetupOutcome(installation: installation, databaseSchema: schema, keySetID: deployment.keySetID,
                            keySetFingerprint: deployment.keySetFingerprint,
                            warnings: adminGroupWarnings(request.adminGroup, groupFile: groupFile))
    }

    /// A read of the database made after a write failed: its failure is an answer too ("cannot tell").
    private static func readAfterFailure<T>(_ read: () async throws -> T) async -> Result<T, any Error> {
        do {
            try FaultInjection.point("setup.read-after-failure")
            return .success(try await read())
        } catch {
            return .failure(error)
        }
    }

    /// `error`, with its class and exit status, telling what setup kept; by default the remedy
    /// is to finish with the same setup.
    private static func keptAfterFailure(_ error: any Error, _ explanation: String, remedy: Remedy? = .rerunSetup) -> any Error {
        let underlying = error as? any ReportableError ?? DeploymentError(.database, "\(error)")
        return ExplainedFailure(underlying, explanation: explanation, remedy: remedy)
    }

    /// The reference's `Exception: 0x80230443` text, with what resolves it (`activeServer`: the
    /// deployment's, which migrates the schema when this server is the newer one).
    public static func schemaMismatchAdvice(softwareVersion: String, needed: Int, database: Int, activeServer: String?) -> DeploymentWarning {
        DeploymentWarning(StoreRules.schemaMismatchText(softwareVersion: softwareVersion, needed: needed, database: database),
                          remedy: StoreRules.schemaMismatchRemedy(softwareVersion: softwareVersion, databaseSchema: database, activeServer: activeServer))
    }

    static func adminGroupWarnings(_ group: String, groupFile: String) -> [DeploymentWarning] {
        AdminGroupScope.resolve(group, groupFile: groupFile).warning(group: group).map { [$0] } ?? []
    }

    private static func configuration(for request: SetupRequest) -> ServerConfiguration {
        ServerConfiguration(serverName: request.serverName, softwareVersion: request.softwareVersion, database: request.database,
                            adminGroup: request.adminGroup, serviceAccount: request.serviceAccount)
    }

    // MARK: - Repair

    /// What `miisserver repair` changes; `nil` keeps the current value.
    public struct RepairRequest: Sendable {
        public var adminGroup: String?
        public var serviceAccount: ServiceAccount?
        public var kdf: KDFParameters?
        public var kdfPolicy: KDFParameters.Policy
        /// Another location of the same deployment's database (see ``verifiedDatabaseLocation(_:for:)``).
        public var database: String?
        public init(adminGroup: String? = nil, serviceAccount: ServiceAccount? = nil,
                    kdf: KDFParameters? = nil, kdfPolicy: KDFParameters.Policy = .standard, database: String? = nil) {
            self.database = database
            self.adminGroup = adminGroup
            self.serviceAccount = serviceAccount
            self.kdf = kdf
            self.kdfPolicy = kdfPolicy
        }
        /// Whether changing the account requires re-sealing the installed key set.
        public func needsCredentials(for installation: ServerInstallation) -> Bool {
            guard let serviceAccount, serviceAccount != installation.configuration.serviceAccount else { return false }
            return installation.hasInstalledKeySet
        }
    }

    /// Repair mode: changes the admin group, the service account (re-sealing the installed key set
    /// from `oldPassword` to `newPassword`) or the database location (checked first: a location
    /// that does not reach this deployment changes nothing), and records this binary's software
    /// version (re-registering the server when it differs; the schema is never migrated here:
    /// that is ``upgrade(_:database:dryRun:)``'s job, on the active primary).
    public static func repair(_ installation: ServerInstallation, _ request: RepairRequest,
                              oldPassword: Password?, newPassword: Password?, groupFile: String = "/etc/group") async throws -> (ServerInstallation, [DeploymentWarning]) {
        var configuration = installation.configuration
        var warnings: [DeploymentWarning] = []
        if let database = request.database {
            let (location, databaseWarnings) = try await verifiedDatabaseLocation(database, for: installation)
            configuration.database = location
            warnings += databaseWarnings
        }
        if let group = request.adminGroup {
            guard !group.isEmpty else { throw DeploymentError(.invalidRequest, "the admin group must not be empty") }
            configuration.adminGroup = group
        }
        let versionChanged = configuration.softwareVersion != SchemaCatalog.currentSoftwareVersion
        configuration.softwareVersion = SchemaCatalog.currentSoftwareVersion
        if let account = request.serviceAccount, account != configuration.serviceAccount {
            if installation.hasInstalledKeySet {
                guard let oldPassword, let newPassword else {
                    throw DeploymentError(.invalidRequest, "changing the service account re-seals the installed key set: it needs the current and the new password")
                }
                let file = try installation.openInstalledKeySet(password: oldPassword, policy: request.kdfPolicy)
                let resealed = try file.reprotected(account: account, kdf: request.kdf ?? file.header.kdf, policy: request.kdfPolicy)
                try installation.installKeySet(resealed, credentials: Credentials(account: account, password: newPassword), replace: true)
            }
            configuration.serviceAccount = account
        }
        if versionChanged {
            // Re-registered first: server.json then never claims a version the database refused
            // (a binary older than the schema writes nothing).
            try await DeploymentStoreFactory.withStore(location: configuration.database) { store in
                guard let server = try await store.servers().first(where: { $0.name == configuration.serverName }) else {
                    throw DeploymentError(.notRegistered, "server '\(configuration.serverName)' is not registered in the deployment")
                }
                var changed = server
                changed.softwareVersion = configuration.softwareVersion
                try await store.register(changed, origin: writeOrigin(configuration.serverName))
            }
        }
        let updated = try installation.updating(configuration)
        warnings += adminGroupWarnings(configuration.adminGroup, groupFile: groupFile)
        return (updated, warnings)
    }

    // MARK: - Operations

    /// Opens the installation's database, checks it holds a schema this software can use, runs
    /// `body` with it and closes it (awaited), whether `body` returns or throws.
    package static func withStore<T>(_ installation: ServerInstallation, _ body: (any DeploymentStore) async throws -> T) async throws -> T {
        let location = installation.configuration.database
        logger.debug("opening the \(DeploymentStoreFactory.engine(for: location).rawValue) deployment database of \(installation.configuration.serverName)")
        return try await DeploymentStoreFactory.withStore(location: location) { store in
            try StoreRules.requireSchema(try await store.schemaVersion(), location: location)
            return try await body(store)
        }
    }

    /// The origin of a write made from `server` by the current operating-system user.
    static func writeOrigin(_ server: String) -> WriteOrigin {
        WriteOrigin(server: server, osUser: OperatorIdentity.current())
    }

    /// The epoch this installation holds as the active server; a server that was never activated
    /// holds none and may not write on the deployment's behalf.
    static func heldEpoch(_ installation: ServerInstallation) throws -> Int64 {
        guard let epoch = installation.activeEpoch else {
            throw DeploymentError(.fenced,
                "server '\(installation.configuration.serverName)' is not the active server (it was never activated); it may not write on the deployment's behalf")
        }
        return epoch
    }

    /// The deployment row; `.notRegistered` before a primary was set up.
    static func requireDeployment(_ store: any DeploymentStore) async throws -> DeploymentState {
        guard let state = try await store.deployment() else { throw DeploymentError(.notRegistered, "the database holds no deployment") }
        return state
    }

    /// Any registered server may redirect password synchronization (before a failover or a fail
    /// back); the change is logged with this server and user.
    public static func setPasswordSync(_ installation: ServerInstallation, enabled: Bool, target: String?) async throws -> DeploymentState {
        try await withStore(installation) { store in
            try await store.setPasswordSync(enabled: enabled, target: enabled ? target : nil,
                                            origin: writeOrigin(installation.configuration.serverName))
            return try await requireDeployment(store)
        }
    }

    /// Changes the deployment's lease. Only the active server may (a fenced write): a standby
    /// cannot shorten the lease of a live primary to take it over. Logged.
    public static func setLease(_ installation: ServerInstallation, seconds: TimeInterval) async throws -> DeploymentState {
        let epoch = try heldEpoch(installation)
        return try await withStore(installation) { store in
            try await store.setLease(seconds, epoch: epoch, origin: writeOrigin(installation.configuration.serverName))
            return try await requireDeployment(store)
        }
    }

    /// The deployment row as the database holds it.
    public static func deployment(_ installation: ServerInstallation) async throws -> DeploymentState {
        try await withStore(installation) { store in
            return try await requireDeployment(store)
        }
    }

    /// Encrypts `value` under the installed key set's primary key and stores it as `name`.
    /// Only the active server at its epoch may (the store checks it in the write's transaction);
    /// the installed key set must be the deployment's current one.
    public static func setSecret(_ installation: ServerInstallation, name: String, value: SecureBytes,
                                 password: Password, policy: KDFParameters.Policy = .standard) async throws -> StoredSecret {
        try SecretCipher.validate(name: name)
        let epoch = try heldEpoch(installation)
        let file = try installation.openInstalledKeySet(password: password, policy: policy)
        return try await withStore(installation) { store in
            let deployment = try await requireDeployment(store)
            try StoreRules.requireCurrentKeySet(file.keySet, of: deployment)
            let secret = try SecretCipher.seal(value, name: name, keySet: file.keySet)
            try await store.putSecret(secret, epoch: epoch, origin: writeOrigin(installation.configuration.serverName))
            return secret
        }
    }

    public static func secrets(_ installation: ServerInstallation) async throws -> [StoredSecret] {
        try await withStore(installation) { try await $0.secrets() }
    }

    public static func history(_ installation: ServerInstallation) async throws -> [ActivationLogEntry] {
        try await withStore(installation) { try await $0.activationLog() }
    }

    /// Records a heartbeat for this server at the epoch it was activated at. Throws `.fenced` when
    /// it is not the active server at the current epoch.
    public static func heartbeat(_ installation: ServerInstallation) async throws -> DeploymentState {
        try await withStore(installation) { store in
            let name = installation.configuration.serverName
            guard try await store.servers().contains(where: { $0.name == name }) else {
                throw DeploymentError(.notRegistered, "server '\(name)' is not registered in this deployment")
            }
            let epoch = try heldEpoch(installation)
            if let current = try await store.deployment(), current.epoch > epoch {
                throw DeploymentError(.fenced,
                    "server '\(name)' is fenced: it was activated at epoch \(epoch) but the deployment is at epoch \(current.epoch) (active server '\(current.activeServer)')")
            }
            // The store re-checks atomically: it may have moved since.
            try await store.heartbeat(server: name, epoch: epoch)
            return try await requireDeployment(store)
        }
    }

    /// Succeeds only when this server's software version matches the database schema (else the
    /// reference's `Exception: 0x80230443`, as `miisactivate` says it) and it is the active one at
    /// the current epoch with the deployment's key set installed (checked from the key file's
    /// public header: no password).
    public static func check(_ installation: ServerInstallation) async throws -> DeploymentState {
        try await withStore(installation) { store in
            let name = installation.configuration.serverName
            let servers = try await store.servers()
            guard let deployment = try await store.deployment(), servers.contains(where: { $0.name == name }) else {
                throw DeploymentError(.notRegistered, "server '\(name)' is not registered in this deployment")
            }
            try StoreRules.requireMatchingSchema(softwareVersion: installation.configuration.softwareVersion,
                                                 databaseSchema: try await store.schemaVersion(), activeServer: deployment.activeServer)
            switch installation.state(deployment: deployment, servers: servers) {
            case .active: break
            case .fenced:
                throw DeploymentError(.fenced, "server '\(name)' is fenced: it holds epoch \(installation.activeEpoch.map(String.init) ?? "none") but the deployment is at epoch \(deployment.epoch) (active server '\(deployment.activeServer)')")
            case .standby, .unregistered, .unknown:
                throw DeploymentError(.fenced, "server '\(name)' is a standby; the active server is '\(deployment.activeServer)' at epoch \(deployment.epoch)")
            }
            guard let header = try installation.installedKeyFileHeader(), header.keySetID == deployment.keySetID else {
                throw DeploymentError(.keySetMismatch, "the installed key set is not the deployment's current key set \(deployment.keySetID.lowercasedString)")
            }
            // A key-set change interrupted after its commit leaves the older generation installed
            // until the same command (any `keys` change) runs again and installs the staged file.
            guard Int64(header.generation) == deployment.keySetGeneration else {
                throw DeploymentError(.keySetMismatch,
                    "the installed key set is generation \(header.generation) but the deployment is at generation \(deployment.keySetGeneration)",
                    remedy: Int64(header.generation) < deployment.keySetGeneration ? .finishKeySetChange : nil)
            }
            return deployment
        }
    }
}
