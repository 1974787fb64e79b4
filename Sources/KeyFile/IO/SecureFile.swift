#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// File-system operations with the guarantees key files need: bounded reads that refuse
/// directories, FIFOs and devices without blocking, and atomic, durable, 0600 writes.
public enum SecureFile {
    /// Reads a regular file of at most `limit` bytes. Opening never blocks (FIFOs are opened
    /// non-blocking, then refused), and a file that grows past `limit` while being read is refused.
    public static func read(_ path: String, limit: Int = SealedKeyFile.maximumSize) throws -> [UInt8] {
        let descriptor = FileSystemPath.withCString(path) { open($0, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        guard descriptor >= 0 else { throw ioError(path, errno, "cannot open") }
        defer { close(descriptor) }
        return try read(opened: descriptor, path: path, limit: limit)
    }

    /// Reads the regular file `name` of the already-opened directory `directory` (a descriptor of
    /// `open(O_DIRECTORY)`) like ``read(_:limit:)``, without following a symbolic link: `name`
    /// is looked up in that very directory, so a directory swapped after it was checked is not
    /// followed either. `path` names the file in messages.
    public static func read(named name: String, in directory: Int32, path: String, limit: Int = SealedKeyFile.maximumSize) throws -> [UInt8] {
        try requireSingleComponent(name, path: path)
        let descriptor = openat(directory, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW)
        guard descriptor >= 0 else {
            if errno == ELOOP { throw KeyFileError.io("symlink", path: path, "is a symbolic link; refusing to follow it") }
            throw ioError(path, errno, "cannot open")
        }
        defer { close(descriptor) }
        return try read(opened: descriptor, path: path, limit: limit)
    }

    private static func read(opened descriptor: Int32, path: String, limit: Int) throws -> [UInt8] {
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
    /// The directory is opened once and every step is made relative to it (see
    /// ``writeAtomically(_:named:in:path:mode:replace:)``).
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, replace: Bool) throws {
        let directory = FileSystemPath.directory(of: path).isEmpty ? "." : FileSystemPath.directory(of: path)
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ioError(path, errno, "cannot open the directory \(directory)") }
        defer { close(descriptor) }
        try writeAtomically(bytes, named: FileSystemPath.lastComponent(of: path), in: descriptor, path: path, mode: mode, replace: replace)
    }

    /// ``writeAtomically(_:to:mode:replace:)`` into the already-opened directory `directory` (a
    /// descriptor of `open(O_DIRECTORY)`): the temporary file is created with `openat` and
    /// `O_NOFOLLOW`, moved with `renameat`/`linkat` and made durable by `fsync` of that
    /// descriptor. A caller that checked the directory through its descriptor therefore writes into
    /// the directory it checked, even if its path is meanwhile replaced by a symbolic link.
    /// `name` is a single path component; `path` names the destination in messages.
    public static func writeAtomically(_ bytes: [UInt8], named name: String, in directory: Int32, path: String,
                                       mode: mode_t = 0o600, replace: Bool) throws {
        try requireSingleComponent(name, path: path)
        let suffix = (try? SecureRandom.bytes(count: 6).hexString) ?? String(getpid())
        let temporary = ".\(name).tmp-\(suffix)"
        let descriptor = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard descriptor >= 0 else {
            let folder = FileSystemPath.directory(of: path)
            throw ioError(path, errno, "cannot create a temporary file in \(folder.isEmpty ? "." : folder)")
        }
        var committed = false
        defer {
            if !committed { unlinkat(directory, temporary, 0) }
        }
        do {
            defer { close(descriptor) }
            guard fchmod(descriptor, mode) == 0 else { throw ioError(path, errno, "cannot set permissions") }
            try writeAll(descriptor, bytes, path: path)
            guard fsync(descriptor) == 0 else { throw ioError(path, errno, "cannot sync") }
        }
        try FaultInjection.point("atomic-write.before-rename")
        if replace {
            guard renameat(directory, temporary, directory, name) == 0 else { throw ioError(path, errno, "cannot replace") }
        } else {
            guard linkat(directory, temporary, directory, name, 0) == 0 else {
                if errno == EEXIST { throw KeyFileError.io("exists", path: path, "already exists; refusing to overwrite it") }
                throw ioError(path, errno, "cannot create")
            }
            unlinkat(directory, temporary, 0)
        }
        committed = true
        guard fsync(directory) == 0 else { throw ioError(path, errno, "cannot sync its directory") }
    }

    /// `name` must name an entry of the directory itself, not a path through other directories.
    private static func requireSingleComponent(_ name: String, path: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw KeyFileError.io("invalid-name", path: path, "is not a plain file name")
        }
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
