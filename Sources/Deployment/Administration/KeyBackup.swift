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

    /// `miiskeys-N.bin` in `directory` with the smallest N >= 1 not taken.
    public static func nextDefaultPath(in directory: String) -> String {
        var n = 1
        while FileManager.default.fileExists(atPath: "\(directory)/miiskeys-\(n).bin") { n += 1 }
        return "\(directory)/miiskeys-\(n).bin"
    }

    /// Opens the installed key set with the service account's `password`, checks that it is the
    /// deployment's current key set (ID and fingerprint), writes it re-protected (new salt and
    /// nonce, `kdf`) to `output` (atomically, 0600, never over an existing file; by default the
    /// next free `miiskeys-N.bin` in the current directory), re-opening the synced file from disk
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
