import Foundation
import KeyFile
import Logging

/// The key set's life on a deployment (`miisserver keys`): rotate, retire, disable, purge,
/// abandon, list and history.
///
/// Every change follows one crash-safe sequence:
/// 1. a key file left staged by an interrupted change is finished (installed, when the database
///    switched to it) or discarded (when it did not): a re-run converges;
/// 2. the new key set's file is written to `keys/keyset.next.bin`, durable, before the database
///    changes;
/// 3. one compare-and-set on the epoch and the generation read switches the database
///    (``DeploymentStore/changeKeySet(_:origin:)``);
/// 4. only then is the staged file installed as `keys/keyset.bin` and the staged copy removed.
public enum KeyLifecycle {
    static let logger = Logger(label: "miis.deployment.keys")

    /// What a key-set change did, as `miisserver keys … --json` reports it.
    public struct Outcome: Codable, Sendable, Equatable {
        public var reason: KeySetChangeReason
        public var keySetID: UUID
        public var fingerprint: String
        public var previousGeneration: Int64
        public var generation: Int64
        /// The deployment's epoch after the change (an abandon moves it by one).
        public var epoch: Int64
        public var keys: [KeyRecord]
        /// How many secrets were re-encrypted under the new primary key.
        public var reencryptedSecrets: Int
        /// The secrets marked as needing re-entry (an abandon).
        public var needsReentry: [String]
        /// Whether this run finished a change an interrupted run had committed (installing its
        /// staged key file) instead of making another one.
        public var resumed: Bool = false
    }

    /// One key of the deployment's key set as the database records it.
    public struct KeyRecord: Codable, Sendable, Equatable {
        public var id: UInt32
        public var status: KeyStatus
        public var primary: Bool
        /// The check value, lowercase hex (identifies the key without revealing it).
        public var checkValue: String
        /// How many stored secrets are encrypted under this key.
        public var secrets: Int
    }

    // MARK: - Changes on the active server

    /// Adds a fresh primary key (a new ID, never reused), retires the previous primary,
    /// re-encrypts every secret under the new primary and advances the generation.
    public static func rotate(_ installation: ServerInstallation, password: Password,
                              policy: KDFParameters.Policy = .standard) async throws -> Outcome {
        try await change(installation, password: password, policy: policy, reason: .rotate) { keySet, secrets, usedIDs in
            let rotated = try keySet.rotated(usedIDs: usedIDs)
            let reencrypted = try secrets.filter { !$0.needsReentry }.map { secret in
                try SecretCipher.seal(try SecretCipher.open(secret, keySet: keySet), name: secret.name, keySet: rotated)
            }
            return (rotated, reencrypted, "new primary key \(rotated.primary.id), key \(keySet.primary.id) retired")
        }
    }

    /// Retires key `id` (it still decrypts, it no longer encrypts).
    public static func retire(_ installation: ServerInstallation, keyID: KeyID, password: Password,
                              policy: KDFParameters.Policy = .standard) async throws -> Outcome {
        try await change(installation, password: password, policy: policy, reason: .retire) { keySet, _, _ in
            try requireStatusChange(keySet, keyID, to: .retired)
            return (try keySet.settingStatus(.retired, of: keyID), [], "key \(keyID) retired")
        }
    }

    /// Disables key `id` (it no longer decrypts); refused while a secret is encrypted under it.
    public static func disable(_ installation: ServerInstallation, keyID: KeyID, password: Password,
                               policy: KDFParameters.Policy = .standard) async throws -> Outcome {
        try await change(installation, password: password, policy: policy, reason: .disable) { keySet, secrets, _ in
            try requireStatusChange(keySet, keyID, to: .disabled)
            let users = secrets.filter { $0.keyID == keyID && !$0.needsReentry }.map(\.name)
            guard users.isEmpty else {
                throw DeploymentError(.invalidRequest,
                    "key \(keyID) still decrypts \(users.count) secret(s) (\(users.joined(separator: ", "))); re-encrypt them under another key first",
                    remedy: .rotateKeySet)
            }
            return (try keySet.settingStatus(.disabled, of: keyID), [], "key \(keyID) disabled")
        }
    }

    /// Removes every retired or disabled key no secret is encrypted under. `nil` when there is
    /// none (nothing changes).
    public static func purge(_ installation: ServerInstallation, password: Password,
                             policy: KDFParameters.Policy = .standard) async throws -> Outcome? {
        do {
            return try await change(installation, password: password, policy: policy, reason: .purge) { keySet, secrets, _ in
                let used = Set(secrets.filter { !$0.needsReentry }.map(\.keyID))
                let removable = Set(keySet.keys.filter { $0.descriptor.status != .active && !used.contains($0.id) }.map(\.id))
                guard !removable.isEmpty else { throw NothingToPurge() }
                return (try keySet.removing(removable), [],
                        "removed key(s) \(removable.sorted().map(\.description).joined(separator: ", "))")
            }
        } catch is NothingToPurge {
            return nil
        }
    }

    private struct NothingToPurge: Error {}

    private static func requireStatusChange(_ keySet: KeySet, _ id: KeyID, to status: KeyStatus) throws {
        guard let key = keySet.key(withID: id) else {
            throw DeploymentError(.invalidRequest, "the key set holds no key \(id)")
        }
        guard !key.descriptor.isPrimary else {
            throw DeploymentError(.invalidRequest, "key \(id) is the primary key; the key set needs another primary first", remedy: .rotateKeySet)
        }
        guard key.descriptor.status != status, key.descriptor.status != .disabled else {
            throw DeploymentError(.invalidRequest, "key \(id) is already \(key.descriptor.status)")
        }
    }

    /// The sequence every change of the installed key set follows (see the type's notes).
    private static func change(
        _ installation: ServerInstallation, password: Password, policy: KDFParameters.Policy, reason: KeySetChangeReason,
        _ build: (KeySet, [StoredSecret], [KeyID]) throws -> (KeySet, [StoredSecret], String)
    ) async throws -> Outcome {
        let epoch = try DeploymentAdministration.heldEpoch(installation)
        let origin = DeploymentAdministration.writeOrigin(installation.configuration.serverName)
        return try await DeploymentAdministration.withStore(installation) { store in
            var state = try await DeploymentAdministration.requireDeployment(store)
            try StoreRules.checkFence(state, server: origin.server, epoch: epoch)
            if try await convergeStaged(installation, state: state, password: password, policy: policy) {
                // The interrupted run committed: finishing it is this run's change (a re-run converges
                // instead of rotating twice).
                return try await resumed(reason, state: state, store: store)
            }
            let file = try installation.openInstalledKeySet(password: password, policy: policy)
            try StoreRules.requireCurrentKeySet(file.keySet, of: state)
            let secrets = try await store.secrets()
            let usedIDs = try await store.checkValues().map(\.keyID) + secrets.map(\.keyID)
            let (next, reencrypted, detail) = try build(file.keySet, secrets, usedIDs)
            let newFile = try KeyFile(keySet: next, account: installation.configuration.serviceAccount,
                                      sourceServer: installation.configuration.serverName, kdf: file.header.kdf, policy: policy)
            let change = KeySetChange(expectedEpoch: state.epoch, expectedGeneration: state.keySetGeneration, keySet: next,
                                      keys: DeploymentKeyCheck.checkValues(of: next), reencrypted: reencrypted,
                                      reason: reason, detail: detail)
            state = try await commit(change, file: newFile, password: password, installation: installation, store: store, origin: origin)
            return try await outcome(change, previous: change.expectedGeneration, state: state, store: store)
        }
    }

    // MARK: - Abandon

    /// Replaces a key set whose every copy is lost, on the server that is to become active: a new
    /// key set (new ID, generation + 1, key IDs continuing the count) sealed with `password`, every
    /// secret marked as needing re-entry (kept, never dropped), and this server made the active one
    /// at epoch + 1. Refused while the current primary is alive (the lease, judged in the switch's
    /// transaction as an activation judges it) and on a server that holds the current key set.
    public static func abandon(_ installation: ServerInstallation, reason: String, password: Password,
                               kdf: KDFParameters = .recommended, policy: KDFParameters.Policy = .standard) async throws -> Outcome {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw DeploymentError(.invalidRequest, "abandoning the key set needs a reason; it is logged") }
        try kdf.check(policy)
        let origin = DeploymentAdministration.writeOrigin(installation.configuration.serverName)
        return try await DeploymentAdministration.withStore(installation) { store in
            var state = try await DeploymentAdministration.requireDeployment(store)
            if try await convergeStaged(installation, state: state, password: password, policy: policy) {
                return try await resumed(.abandon, state: state, store: store)
            }
            if let header = try? installation.installedKeyFileHeader(), header.keySetID == state.keySetID,
               Int64(header.generation) == state.keySetGeneration {
                throw DeploymentError(.invalidRequest,
                    "this server holds the deployment's current key set \(state.keySetID.lowercasedString) (generation \(state.keySetGeneration)); it is not lost",
                    remedy: .rotateKeySet)
            }
            let secrets = try await store.secrets()
            let usedIDs = try await store.checkValues().map(\.keyID) + secrets.map(\.keyID)
            guard state.keySetGeneration < Int64(UInt32.max) else {
                throw DeploymentError(.invalidRequest, "the key set has reached its last generation")
            }
            let next = try KeySet.replacing(generation: UInt32(state.keySetGeneration), usedIDs: usedIDs)
            let newFile = try KeyFile(keySet: next, account: installation.configuration.serviceAccount,
                                      sourceServer: installation.configuration.serverName, kdf: kdf, policy: policy)
            let change = KeySetChange(expectedEpoch: state.epoch, expectedGeneration: state.keySetGeneration, keySet: next,
                                      keys: DeploymentKeyCheck.checkValues(of: next), needsReentry: secrets.map(\.name),
                                      reason: .abandon, detail: "key set \(state.keySetID.lowercasedString) abandoned: \(trimmed)")
            // The activation record is written before the staged copy goes: until then a re-run finds
            // the staged file and finishes both.
            state = try await commit(change, file: newFile, password: password, installation: installation, store: store, origin: origin) {
                try installation.recordActivation(epoch: $0.epoch, keySetID: $0.keySetID, at: $0.activatedAt)
            }
            return try await outcome(change, previous: change.expectedGeneration, state: state, store: store)
        }
    }

    // MARK: - The crash-safe sequence

    /// Stages the new key file, switches the database, then installs the file.
    /// `installed` runs once the new file is installed, before the staged copy is removed.
    private static func commit(_ change: KeySetChange, file: KeyFile, password: Password, installation: ServerInstallation,
                               store: any DeploymentStore, origin: WriteOrigin,
                               installed: (DeploymentState) throws -> Void = { _ in }) async throws -> DeploymentState {
        let bytes = try file.serialized(with: Credentials(account: installation.configuration.serviceAccount, password: password))
        try installation.stageKeyFile(bytes)
        try FaultInjection.point("keys.after-staged")
        let state: DeploymentState
        do {
            state = try await store.changeKeySet(change, origin: origin)
        } catch let error as DeploymentError where [.conflict, .fenced, .primaryAlive, .invalidRequest, .notRegistered].contains(error.kind) {
            // Refused inside the transaction: nothing was committed, so the staged file goes.
            try? installation.discardStagedKeyFile()
            throw error.kind == .primaryAlive ? error.with(.stopPrimaryAndWait) : error
        }
        logger.info("key set \(change.reason.rawValue): generation \(change.expectedGeneration) -> \(change.generation) on \(origin.server)")
        try FaultInjection.point("keys.after-commit")
        try installation.installKeyFile(bytes, replace: true)
        try installed(state)
        try FaultInjection.point("keys.after-installed")
        try installation.discardStagedKeyFile()
        return state
    }

    /// Finishes or discards a key file an interrupted change left staged: installed when the
    /// database holds its key set (the switch committed), discarded when it does not.
    /// Returns whether it finished one.
    static func convergeStaged(_ installation: ServerInstallation, state: DeploymentState, password: Password,
                               policy: KDFParameters.Policy) async throws -> Bool {
        guard let bytes = try installation.stagedKeyFile() else { return false }
        let staged = try? SealedKeyFile(bytes: bytes).open(
            with: Credentials(account: installation.configuration.serviceAccount, password: password), policy: policy)
        if let staged, (try? StoreRules.requireCurrentKeySet(staged.keySet, of: state)) != nil {
            logger.info("finishing an interrupted key-set change: installing generation \(staged.keySet.generation)")
            try installation.installKeyFile(bytes, replace: true)
            if state.activeServer == installation.configuration.serverName, installation.activeEpoch != state.epoch {
                try installation.recordActivation(epoch: state.epoch, keySetID: state.keySetID, at: state.activatedAt)
            }
            try installation.discardStagedKeyFile()
            return true
        }
        logger.info("discarding a staged key set the database never switched to")
        try installation.discardStagedKeyFile()
        return false
    }

    /// The outcome of a change an interrupted run committed and this run finished.
    private static func resumed(_ reason: KeySetChangeReason, state: DeploymentState, store: any DeploymentStore) async throws -> Outcome {
        let last = try await store.keySetHistory().last
        return Outcome(reason: last?.reason ?? reason, keySetID: state.keySetID, fingerprint: state.keySetFingerprint,
                       previousGeneration: state.keySetGeneration - 1, generation: state.keySetGeneration, epoch: state.epoch,
                       keys: try await records(store), reencryptedSecrets: 0, needsReentry: [], resumed: true)
    }

    private static func outcome(_ change: KeySetChange, previous: Int64, state: DeploymentState,
                                store: any DeploymentStore) async throws -> Outcome {
        Outcome(reason: change.reason, keySetID: state.keySetID, fingerprint: state.keySetFingerprint, previousGeneration: previous,
                generation: state.keySetGeneration, epoch: state.epoch, keys: try await records(store),
                reencryptedSecrets: change.reencrypted.count, needsReentry: change.needsReentry)
    }

    // MARK: - Reading

    /// The deployment's keys, from the database (no password).
    public static func keys(_ installation: ServerInstallation) async throws -> [KeyRecord] {
        try await DeploymentAdministration.withStore(installation) { try await records($0) }
    }

    private static func records(_ store: any DeploymentStore) async throws -> [KeyRecord] {
        let secrets = try await store.secrets().filter { !$0.needsReentry }
        return try await store.checkValues().map { value in
            KeyRecord(id: value.keyID.rawValue, status: value.status, primary: value.isPrimary, checkValue: value.checkValue.hexString,
                      secrets: secrets.filter { $0.keyID == value.keyID }.count)
        }
    }

    /// The key set's history, oldest first.
    public static func history(_ installation: ServerInstallation) async throws -> [KeySetHistoryEntry] {
        try await DeploymentAdministration.withStore(installation) { try await $0.keySetHistory() }
    }
}

// MARK: - Backups

extension KeyLifecycle {
    /// The newest backup of the deployment's key set in a folder, as `status --backups DIR`
    /// reports it: verified without the password (magic, structure and whole-file checksum).
    public struct BackupStanding: Codable, Sendable, Equatable {
        public var directory: String
        /// The newest intact key file of the deployment's key set (by the time it was written),
        /// `nil` when the folder holds none.
        public var path: String?
        public var generation: UInt32?
        public var createdAt: Date?
        public var ageSeconds: Double?
        /// Whether that backup is of the deployment's current generation (else it is stale).
        public var current: Bool
    }

    /// The newest intact backup of key set `keySetID` under `directory` (recursively), judged
    /// against the deployment's `generation`.
    public static func newestBackup(in directory: String, keySetID: UUID, generation: Int64, now: Date = Date()) -> BackupStanding {
        var newest: (path: String, header: KeyFileHeader)?
        for candidate in KeyFilePathCollector.collect([directory], recursive: true) where candidate.problem == nil {
            guard let bytes = try? SecureFile.read(candidate.path),
                  let (file, intact) = try? SealedKeyFile.inspect(bytes: bytes), intact,
                  file.header.keySetID == keySetID else { continue }
            if newest.map({ file.header.createdAt > $0.header.createdAt }) ?? true { newest = (candidate.path, file.header) }
        }
        guard let newest else { return BackupStanding(directory: directory, current: false) }
        let created = Date(timeIntervalSince1970: TimeInterval(newest.header.createdAt))
        return BackupStanding(directory: directory, path: newest.path, generation: newest.header.generation, createdAt: created,
                              ageSeconds: max(0, now.timeIntervalSince(created)), current: Int64(newest.header.generation) == generation)
    }
}
