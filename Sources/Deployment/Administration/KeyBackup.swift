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
    /// next free `miiskeys-N.bin` in the current directory), then re-opens the written file to
    /// verify it before returning.
    public static func backup(installation: ServerInstallation, password: Password, output: String?,
                              kdf: KDFParameters? = nil, policy: KDFParameters.Policy = .standard) async throws -> Outcome {
        let file = try installation.openInstalledKeySet(password: password, policy: policy)
        let store = try await DeploymentAdministration.openStore(for: installation)
        let deployment: DeploymentState?
        do {
            deployment = try await store.deployment()
            try? await store.close()
        } catch {
            try? await store.close()
            throw error
        }
        guard let deployment else { throw DeploymentError(.notRegistered, "the database holds no deployment") }
        guard deployment.keySetID == file.keySet.id, deployment.keySetFingerprint == file.keySet.fingerprint else {
            throw DeploymentError(.keySetMismatch,
                "the installed key set \(file.keySet.id.lowercasedString) is not the deployment's current key set \(deployment.keySetID.lowercasedString); refusing to back up a stale key set")
        }
        let path = output ?? nextDefaultPath(in: FileManager.default.currentDirectoryPath)
        let account = installation.configuration.serviceAccount
        let backup = try file.reprotected(account: account, kdf: kdf ?? file.header.kdf, policy: policy)
        let credentials = Credentials(account: account, password: password)
        try SecureFile.writeAtomically(try backup.serialized(with: credentials), to: path, mode: 0o600, replace: false)
        let reopened = try SealedKeyFile(bytes: SecureFile.read(path)).open(with: credentials, policy: policy)
        guard reopened.keySet.id == file.keySet.id, reopened.keySet.fingerprint == file.keySet.fingerprint else {
            throw DeploymentError(.keySetMismatch, "the backup written to \(path) does not read back as the same key set")
        }
        return Outcome(path: path, keySetID: file.keySet.id, fingerprint: file.keySet.fingerprint, keyCount: file.keySet.keys.count)
    }
}
