#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Writes key files (and other secret files) so that the destination only ever changes to a
/// complete, durable and verified file.
///
/// Steps: write a 0600 temporary file next to the destination (`O_EXCL`, `O_NOFOLLOW`), `fsync`
/// it, re-read the temporary file from disk and verify it, then commit: `rename` over the
/// destination when replacing, or `link` (which fails atomically if the destination exists) when
/// not, and `fsync` the directory. Until the commit the old file is untouched; after a crash there
/// is at most a stray `.<name>.tmp-<random>` file.
public enum VerifiedKeyFileWriter {
    /// Serializes `file` under `credentials`, verifies the bytes in memory and again after the
    /// synced temporary file is read back (full open, same key-set fingerprint), then commits.
    /// Returns the file as re-opened from disk.
    @discardableResult
    public static func write(
        _ file: KeyFile, credentials: Credentials, to path: String, replace: Bool, policy: KDFParameters.Policy
    ) throws -> KeyFile {
        if !replace { try refuseExisting(path) }
        let bytes = try file.serialized(with: credentials)
        let expected = file.keySet.fingerprint
        func check(_ candidate: [UInt8]) throws -> KeyFile {
            let reopened = try SealedKeyFile(bytes: candidate).open(with: credentials, policy: policy)
            guard reopened.keySet.fingerprint == expected, reopened.header.keySetID == file.header.keySetID else {
                throw KeyFileError(.cryptoFailure, code: "write-verify", "the written key file does not re-open to the same key set; nothing was changed")
            }
            return reopened
        }
        _ = try check(bytes)
        var verified: KeyFile?
        try bytes.withUnsafeBytes { buffer in
            try commit(buffer, to: path, replace: replace) { temporary in
                verified = try check(try SecureFile.read(temporary))
            }
        }
        guard let verified else { throw KeyFileError(.cryptoFailure, code: "write-verify", "the written key file was not verified") }
        return verified
    }

    /// Writes a secret (for example exported key material) to a 0600 file atomically; the bytes
    /// are read back and compared before the commit.
    public static func writeSecret(_ secret: SecureBytes, to path: String, replace: Bool) throws {
        if !replace { try refuseExisting(path) }
        try secret.withUnsafeBytes { buffer in
            try commit(buffer, to: path, replace: replace) { temporary in
                // The read-back copy is as secret as the export itself (cleartext key material):
                // wiped before it is freed, whatever the comparison says.
                var written = try SecureFile.read(temporary, limit: max(buffer.count, 1))
                defer { SecureBytes.wipe(&written) }
                let same = written.withUnsafeBytes { ConstantTime.equals($0, buffer) }
                guard same else { throw KeyFileError.io("write-verify", path: path, "the written file differs from what was written") }
            }
        }
    }

    private static func refuseExisting(_ path: String) throws {
        var status = stat()
        if lstat(path, &status) == 0 {
            throw KeyFileError.io("exists", path: path, "already exists; refusing to overwrite it (use --force to replace it)")
        }
    }

    private static func commit(
        _ bytes: UnsafeRawBufferPointer, to path: String, replace: Bool, verify: (String) throws -> Void
    ) throws {
        let directory = FileSystemPath.directory(of: path).isEmpty ? "." : FileSystemPath.directory(of: path)
        let temporary = "\(directory)/.\(FileSystemPath.lastComponent(of: path)).tmp-\(try SecureRandom.bytes(count: 6).hexString)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw SecureFile.ioError(path, errno, "cannot create a temporary file in \(directory)") }
        var committed = false
        defer { if !committed { unlink(temporary) } }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, 0o600) == 0 else { throw SecureFile.ioError(path, errno, "cannot set permissions") }
            var written = 0
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress?.advanced(by: written), bytes.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    throw SecureFile.ioError(path, errno, "cannot write")
                }
                written += count
            }
            guard fsync(descriptor) == 0 else { throw SecureFile.ioError(path, errno, "cannot sync") }
        }
        try verify(temporary)
        try FaultInjection.point("verified-write.before-commit")
        if replace {
            guard rename(temporary, path) == 0 else { throw SecureFile.ioError(path, errno, "cannot replace") }
        } else {
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw KeyFileError.io("exists", path: path, "already exists; refusing to overwrite it (use --force to replace it)") }
                throw SecureFile.ioError(path, errno, "cannot create")
            }
            unlink(temporary)
        }
        committed = true
        try SecureFile.syncDirectory(directory)
    }
}
