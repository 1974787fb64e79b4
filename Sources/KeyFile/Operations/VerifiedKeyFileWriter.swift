import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes key files (and other secret files) through ``SecureFile``'s atomic writer with its
/// verification, so that the destination only ever changes to a complete, durable and verified
/// file: the synced temporary file is read back and checked before it is committed, and a file
/// that fails the check is removed, never committed.
package enum VerifiedKeyFileWriter {
    /// Serializes `file` under `credentials`, writes it to `path` and, before the commit, re-opens
    /// the temporary file read back from disk (full open under `credentials` and `policy`) and
    /// requires the same key-set ID and fingerprint. Returns the file as re-opened from disk.
    @discardableResult
    package static func write(
        _ file: KeyFile, credentials: Credentials, to path: String, replace: Bool, policy: KDFParameters.Policy
    ) throws -> KeyFile {
        if !replace { try refuseExisting(path) }
        let bytes = try file.serialized(with: credentials)
        var verified: KeyFile?
        try SecureFile.writeAtomically(bytes, to: path, mode: 0o600, replace: replace) { written in
            let reopened = try SealedKeyFile(bytes: written).open(with: credentials, policy: policy)
            guard reopened.keySet.fingerprint == file.keySet.fingerprint, reopened.header.keySetID == file.header.keySetID else {
                throw KeyFileError(.cryptoFailure, code: "write-verify", "the written key file does not re-open to the same key set; nothing was changed")
            }
            verified = reopened
        }
        guard let verified else { throw KeyFileError(.cryptoFailure, code: "write-verify", "the written key file was not verified") }
        return verified
    }

    /// Writes a secret (for example exported key material) to a 0600 file atomically; the bytes
    /// are read back and compared before the commit.
    package static func writeSecret(_ secret: SecureBytes, to path: String, replace: Bool) throws {
        if !replace { try refuseExisting(path) }
        try secret.withUnsafeBytes { buffer in
            // The writer's own read-back comparison is the whole check.
            try SecureFile.writeAtomically(buffer, to: path, mode: 0o600, replace: replace) { _ in }
        }
    }

    /// Refuses an existing `path` early, before any key derivation or password prompt
    /// (`io.exists`: the tools add how to replace it); the commit's `link` still refuses
    /// atomically a file created meanwhile.
    package static func refuseExisting(_ path: String) throws {
        var status = stat()
        if lstat(path, &status) == 0 {
            throw KeyFileError.io("exists", path: path, "already exists; refusing to overwrite it")
        }
    }
}
