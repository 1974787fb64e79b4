import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// What this installation remembers about its own activation: `<install>/keys/activation.json`,
/// written atomically (0600) whenever this server becomes the active one (setup of a primary,
/// `miisactivate`). A server whose recorded epoch is older than the database's is fenced.
public struct ActivationRecord: Codable, Sendable, Equatable {
    public var recordVersion: Int = 1
    /// The deployment epoch at which this server became active.
    public var epoch: Int64
    /// The key set it installed then.
    public var keySetID: UUID
    public var activatedAt: Date

    public init(epoch: Int64, keySetID: UUID, activatedAt: Date = Date()) {
        self.epoch = epoch
        self.keySetID = keySetID
        self.activatedAt = activatedAt
    }
}

/// How this installation stands relative to the database.
public enum InstallationState: String, Codable, Sendable {
    /// The deployment's active server at the current epoch, with its keys installed.
    case active
    /// A registered server that is not the active one (and never was at a later epoch).
    case standby
    /// It was activated at an older epoch than the database's (or is named active without
    /// having recorded the current epoch): it must not act as the primary.
    case fenced
    /// Not registered in the database (or the database has no deployment).
    case unregistered
    /// The database could not be reached: only the local files are known.
    case unknown
}

extension ServerInstallation {
    public static let activationRecordFileName = "activation.json"

    /// `<install>/keys/activation.json`.
    public var activationRecordPath: String { "\(keysDirectory)/\(Self.activationRecordFileName)" }

    /// Records that this server became active at `epoch` with key set `keySetID` (atomic, durable).
    /// `time` is the database's time of the switch (``DeploymentState/activatedAt``), never this
    /// host's clock, which may be off: the record agrees with the activation log.
    public func recordActivation(epoch: Int64, keySetID: UUID, at time: Date) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        do {
            let keys = try openKeysDirectory()
            let data = try encoder.encode(ActivationRecord(epoch: epoch, keySetID: keySetID, activatedAt: time))
            try keys.write(Array(data) + [0x0A], named: Self.activationRecordFileName, path: activationRecordPath, mode: 0o600, replace: true)
        } catch let error as KeyFileError {
            throw DeploymentError(.installation, "cannot record the activation: \(error.message)")
        }
    }

    /// The recorded activation, or `nil` when this server was never active.
    public func activationRecord() throws -> ActivationRecord? {
        guard FileManager.default.fileExists(atPath: activationRecordPath) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            let bytes = try SecureFile.read(activationRecordPath, limit: 64 * 1024)
            return try decoder.decode(ActivationRecord.self, from: Data(bytes))
        } catch let error as KeyFileError {
            throw DeploymentError(.installation, "cannot read the activation record: \(error.message)")
        } catch {
            throw DeploymentError(.installation, "\(activationRecordPath): invalid activation record")
        }
    }

    /// The epoch this server was last activated at, if ever.
    public var activeEpoch: Int64? { (try? activationRecord())?.epoch }

    /// Whether `keys/keyset.bin` exists.
    public var hasInstalledKeySet: Bool { FileManager.default.fileExists(atPath: installedKeyFilePath) }

    /// The installed key file's public header (no password needed), or `nil` when none is installed.
    public func installedKeyFileHeader() throws -> KeyFileHeader? {
        guard hasInstalledKeySet else { return nil }
        return try SealedKeyFile(bytes: SecureFile.read(installedKeyFilePath)).header
    }

    /// Opens the installed key set with the service account's credentials.
    public func openInstalledKeySet(password: Password, policy: KDFParameters.Policy = .standard) throws -> KeyFile {
        guard hasInstalledKeySet else {
            throw DeploymentError(.installation, "\(installedKeyFilePath): no key set is installed on this server")
        }
        let credentials = Credentials(account: configuration.serviceAccount, password: password)
        return try SealedKeyFile(bytes: SecureFile.read(installedKeyFilePath)).open(with: credentials, policy: policy)
    }

    /// Installs `file` as `keys/keyset.bin` sealed with `credentials` (atomic, durable, 0600 in a
    /// 0700 directory). `replace` allows overwriting an installed key set.
    public func installKeySet(_ file: KeyFile, credentials: Credentials, replace: Bool) throws {
        let keys = try openKeysDirectory()
        let bytes = try file.serialized(with: credentials)
        try keys.write(bytes, named: Self.installedKeyFileName, path: installedKeyFilePath, mode: 0o600, replace: replace)
    }

    /// Installs already-sealed key-file `bytes` as `keys/keyset.bin` (atomic, durable, 0600),
    /// written relative to the checked `keys/` directory: a `keys/` replaced by a symbolic link,
    /// before or during the write, is refused (`unsafePermissions`) and its target is not touched.
    public func installKeyFile(_ bytes: [UInt8], replace: Bool) throws {
        do {
            try openKeysDirectory().write(bytes, named: Self.installedKeyFileName, path: installedKeyFilePath, mode: 0o600, replace: replace)
        } catch let error as KeyFileError {
            throw DeploymentError(.installation, "cannot install the keys: \(error.message)")
        }
    }

    public static let stagedKeyFileName = "keyset.next.bin"

    /// `<install>/keys/keyset.next.bin`: a key-set change's new key file, durable before the
    /// database switches to it and installed as `keyset.bin` only after the switch committed.
    public var stagedKeyFilePath: String { "\(keysDirectory)/\(Self.stagedKeyFileName)" }

    /// Writes the staged key file (atomic, durable, 0600), replacing an older one.
    func stageKeyFile(_ bytes: [UInt8]) throws {
        do {
            try openKeysDirectory().write(bytes, named: Self.stagedKeyFileName, path: stagedKeyFilePath, mode: 0o600, replace: true)
        } catch let error as KeyFileError {
            throw DeploymentError(.installation, "cannot stage the new key set: \(error.message)")
        }
    }

    /// The staged key file's bytes, or `nil` when nothing is staged.
    func stagedKeyFile() throws -> [UInt8]? {
        guard FileManager.default.fileExists(atPath: stagedKeyFilePath) else { return nil }
        return try SecureFile.read(stagedKeyFilePath)
    }

    /// Removes the staged key file (a change that did not commit), durably.
    func discardStagedKeyFile() throws {
        let keys = try openKeysDirectory()
        guard unlinkat(keys.descriptor, Self.stagedKeyFileName, 0) == 0 || errno == ENOENT, fsync(keys.descriptor) == 0 else {
            throw DeploymentError(.installation, "\(stagedKeyFilePath): cannot remove the staged key set")
        }
    }

    /// How this installation stands: see ``InstallationState``.
    public func state(deployment: DeploymentState?, servers: [RegisteredServer]) -> InstallationState {
        guard let deployment, servers.contains(where: { $0.name == configuration.serverName }) else { return .unregistered }
        let recorded = activeEpoch
        if deployment.activeServer == configuration.serverName {
            return recorded == deployment.epoch && hasInstalledKeySet ? .active : .fenced
        }
        if let recorded, recorded < deployment.epoch { return .fenced }
        return .standby
    }

    /// `keys/`, created 0700 if missing, opened without following a symbolic link from the
    /// checked installation directory, and set to 0700 (through its descriptor, so a swapped
    /// path cannot redirect the `chmod`).
    private func openKeysDirectory() throws -> CheckedDirectory {
        let root = try CheckedDirectory.open(directory)
        guard let keys = try root.subdirectory(Self.keysDirectoryName, path: keysDirectory, create: 0o700) else {
            throw DeploymentError(.installation, "\(keysDirectory): cannot create the keys directory")
        }
        guard fchmod(keys.descriptor, 0o700) == 0 else {
            throw DeploymentError(.installation, "\(keysDirectory): cannot set mode 0700")
        }
        return keys
    }
}
