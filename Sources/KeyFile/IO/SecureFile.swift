import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// File-system operations with the guarantees key files need: bounded reads that refuse
/// directories, FIFOs and devices without blocking, and atomic, durable, 0600 writes.
public enum SecureFile {
    /// Reads a regular file of at most `limit` bytes. Opening never blocks (FIFOs are opened
    /// non-blocking, then refused), and a file that grows past `limit` while being read is refused.
    public static func read(_ path: String, limit: Int = SealedKeyFile.maximumSize) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard descriptor >= 0 else { throw ioError(path, errno, "cannot open") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw ioError(path, errno, "cannot stat") }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            let kind = (status.st_mode & S_IFMT) == S_IFDIR ? "a directory" : "not a regular file"
            throw KeyFileError.io("not-regular", path: path, "is \(kind)")
        }
        guard Int(status.st_size) <= limit else {
            throw KeyFileError.tooLarge(size: Int(status.st_size), limit: limit)
        }
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size) + 1)
        var total = 0
        while total < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress?.advanced(by: total), buffer.count - total)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError(path, errno, "cannot read")
            }
            if count == 0 { break }
            total += count
        }
        guard total <= Int(status.st_size) else {
            throw KeyFileError.io("changed", path: path, "grew while it was being read; try again")
        }
        bytes.removeSubrange(total...)
        return bytes
    }

    /// Writes `bytes` to `path` atomically and durably: a 0600 temporary file in the same
    /// directory, `fsync`, `rename` over the destination, then `fsync` of the directory. Readers
    /// see the old content or the new, never a mix; a crash leaves at most a stray temporary file.
    /// With `replace: false` an existing destination is refused (checked atomically by `link`).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, replace: Bool) throws {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let suffix = (try? SecureRandom.bytes(count: 6).hexString) ?? String(getpid())
        let temporary = "\(directory)/.\(name).tmp-\(suffix)"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else { throw ioError(path, errno, "cannot create a temporary file in \(directory)") }
        var committed = false
        defer {
            if !committed { unlink(temporary) }
        }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, mode) == 0 else { throw ioError(path, errno, "cannot set permissions") }
            try writeAll(descriptor, bytes, path: path)
            guard fsync(descriptor) == 0 else { throw ioError(path, errno, "cannot sync") }
        }
        try FaultInjection.point("atomic-write.before-rename")
        if replace {
            guard rename(temporary, path) == 0 else { throw ioError(path, errno, "cannot replace") }
        } else {
            guard link(temporary, path) == 0 else {
                if errno == EEXIST { throw KeyFileError.io("exists", path: path, "already exists; refusing to overwrite it") }
                throw ioError(path, errno, "cannot create")
            }
            unlink(temporary)
        }
        committed = true
        try syncDirectory(directory)
    }

    /// `fsync` on a directory, so that a rename or create in it survives a crash.
    public static func syncDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ioError(directory, errno, "cannot open directory") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw ioError(directory, errno, "cannot sync directory") }
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress?.advanced(by: written), buffer.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw ioError(path, errno, "cannot write")
            }
            written += count
        }
    }

    static func ioError(_ path: String, _ code: Int32, _ action: String) -> KeyFileError {
        let reason = String(cString: strerror(code))
        let stable = code == ENOENT ? "not-found" : code == EACCES || code == EPERM ? "permission" : "system"
        return KeyFileError.io(stable, path: path, "\(action): \(reason)")
    }
}
