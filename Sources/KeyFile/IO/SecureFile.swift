#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// File-system operations with the guarantees key files and server state need: bounded reads that
/// refuse directories, FIFOs and devices without blocking, and the one atomic, durable writer
/// (optionally verified before it commits) that every key-file and state write goes through.
package enum SecureFile {
    /// Reads a regular file of at most `limit` bytes. Opening never blocks (FIFOs are opened
    /// non-blocking, then refused), and a file that grows past `limit` while being read is refused.
    package static func read(_ path: String, limit: Int = SealedKeyFile.maximumSize) throws -> [UInt8] {
        let descriptor = FileSystemPath.withCString(path) { open($0, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY) }
        guard descriptor >= 0 else { throw ioError(path, errno, "cannot open") }
        defer { close(descriptor) }
        return try read(opened: descriptor, path: path, limit: limit)
    }

    /// Reads the regular file `name` of the already-opened directory `directory` (a descriptor of
    /// `open(O_DIRECTORY)`) like ``read(_:limit:)``, without following a symbolic link: `name`
    /// is looked up in that very directory, so a directory swapped after it was checked is not
    /// followed either. `path` names the file in messages.
    package static func read(named name: String, in directory: Int32, path: String, limit: Int = SealedKeyFile.maximumSize) throws -> [UInt8] {
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
        // One byte more than the size: a file that grew meanwhile is noticed, not cut short.
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size) + 1)
        var total = 0
        let file = FileDescriptor(rawValue: descriptor)
        while total < bytes.count {
            let count: Int
            do {
                count = try bytes.withUnsafeMutableBytes { try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[total...])) }
            } catch let error as Errno {
                throw ioError(path, error.rawValue, "cannot read")
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

    // MARK: - The atomic writer

    private static let temporaryRandomBytes = 6

    /// The temporary file an atomic write of `name` creates next to it: `.NAME.tmp-` and 12
    /// random hex digits. ``isTemporaryName(_:)`` recognizes exactly these names.
    package static func temporaryName(for name: String) throws -> String {
        ".\(name).tmp-\(try SecureRandom.bytes(count: temporaryRandomBytes).hexString)"
    }

    /// Whether `name` is a temporary file of an atomic write (``temporaryName(for:)``): left
    /// behind only by an interrupted write, possibly partial, never a file to read as a key file.
    package static func isTemporaryName(_ name: String) -> Bool {
        guard name.hasPrefix("."), let range = name.ranges(of: ".tmp-").last else { return false }
        let suffix = name[range.upperBound...]
        return !suffix.isEmpty && isLowercaseHex(suffix) && range.lowerBound > name.index(after: name.startIndex)
    }

    /// What `hexString` writes: ASCII `0-9a-f` only (`Character.isHexDigit` would also take
    /// upper case and the full-width forms).
    private static func isLowercaseHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0) }
    }

    /// Writes `bytes` to `path` atomically and durably; see
    /// ``writeAtomically(_:named:in:path:mode:replace:verify:)``. The directory of `path` is
    /// opened once and every step is made relative to it.
    package static func writeAtomically(_ bytes: UnsafeRawBufferPointer, to path: String, mode: mode_t = 0o600, replace: Bool,
                                        verify: ((_ written: [UInt8]) throws -> Void)? = nil) throws {
        let folder = FileSystemPath.directory(of: path)
        let directory = folder.isEmpty ? "." : folder
        let descriptor = FileSystemPath.withCString(directory) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw ioError(path, errno, "cannot open the directory \(directory)") }
        defer { close(descriptor) }
        try writeAtomically(bytes, named: FileSystemPath.lastComponent(of: path), in: descriptor, path: path, mode: mode,
                            replace: replace, verify: verify)
    }

    /// ``writeAtomically(_:to:mode:replace:verify:)`` for an array.
    package static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, replace: Bool,
                                        verify: ((_ written: [UInt8]) throws -> Void)? = nil) throws {
        try bytes.withUnsafeBytes { try writeAtomically($0, to: path, mode: mode, replace: replace, verify: verify) }
    }

    /// ``writeAtomically(_:named:in:path:mode:replace:verify:)`` for an array.
    package static func writeAtomically(_ bytes: [UInt8], named name: String, in directory: Int32, path: String,
                                        mode: mode_t = 0o600, replace: Bool, verify: ((_ written: [UInt8]) throws -> Void)? = nil) throws {
        try bytes.withUnsafeBytes { try writeAtomically($0, named: name, in: directory, path: path, mode: mode, replace: replace, verify: verify) }
    }

    /// The one atomic writer. Writes `bytes` as `name` in the already-opened directory
    /// `directory` (a descriptor of `open(O_DIRECTORY)`): a temporary file
    /// (``temporaryName(for:)``) is created there with `openat(O_EXCL | O_NOFOLLOW)`, given
    /// `mode` by `fchmod` (whatever the umask), written in full and `fsync`ed. With `verify`, the
    /// temporary file is then read back from disk, compared with `bytes` and handed to `verify`
    /// (a key file is re-opened there); only then is it committed: `renameat` over `name`, or with
    /// `replace: false` `linkat` (an existing `name` is refused atomically), and the directory is
    /// `fsync`ed. Readers see the old content or the new, never a mix. Any failure before the
    /// commit, a failed verification included, removes the temporary file and leaves `name` as it
    /// was; only a crash can leave a temporary file behind, and the next successful write of
    /// `name` removes it once it is stale (``removeStaleTemporaries(of:in:)``).
    ///
    /// Every step is relative to `directory`, so a caller that checked the directory through its
    /// descriptor writes into the directory it checked, even if its path is meanwhile replaced by a
    /// symbolic link. `name` is a single path component; `path` names the destination in messages.
    package static func writeAtomically(_ bytes: UnsafeRawBufferPointer, named name: String, in directory: Int32, path: String,
                                        mode: mode_t = 0o600, replace: Bool, verify: ((_ written: [UInt8]) throws -> Void)? = nil) throws {
        try requireSingleComponent(name, path: path)
        let temporary = try temporaryName(for: name)
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
            do {
                // A typed view: swift-system then writes from this very buffer, never from a copy.
                try FileDescriptor(rawValue: descriptor).writeAll(bytes.bindMemory(to: UInt8.self))
            } catch let error as Errno {
                throw ioError(path, error.rawValue, "cannot write")
            }
            guard fsync(descriptor) == 0 else { throw ioError(path, errno, "cannot sync") }
        }
        if let verify {
            try FaultInjection.point("verified-write.verify")
            var written = try read(named: temporary, in: directory, path: path, limit: max(bytes.count, 1))
            // It may be a secret (exported key material): wiped, not merely freed.
            defer { SecureBytes.wipe(&written) }
            let same = written.withUnsafeBytes { ConstantTime.equals($0, bytes) }
            guard same else { throw KeyFileError.io("write-verify", path: path, "the written file differs from what was written") }
            try verify(written)
            try FaultInjection.point("verified-write.before-commit")
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
        removeStaleTemporaries(of: name, in: directory)
        guard fsync(directory) == 0 else { throw ioError(path, errno, "cannot sync its directory") }
    }

    /// How long a temporary file of a write in progress may exist: longer than any write takes
    /// (its verification runs the KDF once, bounded by the parameters' ceiling), so that an older
    /// one can only be a crashed write's.
    static let staleTemporaryAge: time_t = 600

    /// Removes what crashed writes of `name` left in `directory` (a write killed before its rename
    /// leaves its temporary file, possibly partial): regular files named exactly as
    /// ``temporaryName(for:)`` names them for `name`, owned by this user and unchanged for
    /// ``staleTemporaryAge``. Best effort: the write it follows has succeeded whatever happens here.
    private static func removeStaleTemporaries(of name: String, in directory: Int32) {
        // A descriptor of its own (its own read offset, close-on-exec), not a dup of the caller's.
        let listing = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard listing >= 0 else { return }
        guard let stream = fdopendir(listing) else { close(listing); return }
        defer { closedir(stream) }
        let prefix = ".\(name).tmp-"
        let now = time(nil)
        while let entry = readdir(stream) {
            // Decoded as the temporary's name was encoded when it was created (a Swift String passed as a C string).
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard entryName.hasPrefix(prefix), entryName.utf8.count == prefix.utf8.count + 2 * temporaryRandomBytes,
                  isLowercaseHex(entryName.dropFirst(prefix.count)) else { continue }
            var status = stat()
            guard fstatat(directory, entryName, &status, AT_SYMLINK_NOFOLLOW) == 0, (status.st_mode & S_IFMT) == S_IFREG,
                  status.st_uid == geteuid(), now - status.st_mtim.tv_sec >= staleTemporaryAge else { continue }
            unlinkat(directory, entryName, 0)
        }
    }

    /// `name` must name an entry of the directory itself, not a path through other directories.
    private static func requireSingleComponent(_ name: String, path: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw KeyFileError.io("invalid-name", path: path, "is not a plain file name")
        }
    }

    static func ioError(_ path: String, _ code: Int32, _ action: String) -> KeyFileError {
        let reason = String(cString: strerror(code))
        let stable = code == ENOENT ? "not-found" : code == EACCES || code == EPERM ? "permission" : "system"
        return KeyFileError.io(stable, path: path, "\(action): \(reason)")
    }
}
