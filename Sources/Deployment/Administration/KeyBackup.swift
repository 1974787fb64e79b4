import Foundation
import KeyFile

/// `miisserver backup`: exports the installed key set to a fresh backup key file.
public enum KeyBackup {
    public struct Outcome: Sendable {
        public var path: String
        public var keySetID: UUID
        public var fingerprint: String
        public var keyCount: Int
    }

    /// `miiskeys-N.bin` in `directory` with N one more than the highest N there (1 in an empty or
    /// unreadable directory): a number freed by a cleanup is never reused, so "the highest N is
    /// the newest backup" always holds. The writer still refuses a name taken meanwhile.
    public static func nextDefaultPath(in directory: String) -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let highest = names.compactMap(backupNumber).max() ?? 0
        return "\(directory)/miiskeys-\(highest + 1).bin"
    }

    /// N of a default backup name `miiskeys-N.bin`, or `nil` for any other name.
    static func backupNumber(_ name: String) -> Int? {
        guard name.hasPrefix("miiskeys-"), name.hasSuffix(".bin") else { return nil }
        let digits = name.dropFirst("miiskeys-".count).dropLast(".bin".count)
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }

    /// Opens the installed key set with the service account's `password`, checks that it is the
    /// deployment's current key set (ID and fingerprint), writes it re-protected (new salt and
    /// nonce, `kdf`) to `output` (atomically, 0600, never over an existing file; by default the
    /// next `miiskeys-N.bin` (highest N + 1) in the current directory), re-opening the synced file from disk
    /// before it is committed: a backup that fails that verification leaves nothing behind.
    public static func backup(installation: ServerInstallation, password: Password, output: String?,
                              kdf: KDFParameters? = nil, policy: KDFParameters.Policy = .standard) async throws -> Outcome {
        let file = try installation.openInstalledKeySet(password: password, policy: policy)
        let deployment = try await DeploymentAdministration.withStore(installation) { try await DeploymentAdministration.requireDeployment($0) }
        try StoreRules.requireCurrentKeySet(file.keySet, of: deployment, detail: "refusing to back up a stale key set")
        let path = output ?? nextDefaultPath(in: FileManager.default.currentDirectoryPath)
        let account = installation.configuration.serviceAccount
        let backup = try file.reprotected(account: account, kdf: kdf ?? file.header.kdf, policy: policy)
        let credentials = Credentials(account: account, password: password)
        // Verified before the commit: a backup that does not re-open as this key set never appears.
        try VerifiedKeyFileWriter.write(backup, credentials: credentials, to: path, replace: false, policy: policy)
        return Outcome(path: path, keySetID: file.keySet.id, fingerprint: file.keySet.fingerprint, keyCount: file.keySet.keys.count)
    }
}
