import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One path found by ``KeyFilePathCollector``: a file to check, or a place that could not be
/// listed (reported as an unreadable result rather than silently skipped).
public struct CollectedPath: Sendable, Equatable {
    public let path: String
    /// Set when the path could not be listed or is not a candidate; the file is then not read.
    public let problem: KeyFileError?

    public init(path: String, problem: KeyFileError? = nil) {
        self.path = path
        self.problem = problem
    }
}

/// Expands the paths given on a command line into the sorted list of files to check.
///
/// - A path that is not a directory is taken as it is (even when missing or a dangling symlink:
///   reading it then reports why it cannot be read).
/// - A directory contributes the files directly in it; with `recursive` also those in its
///   subdirectories. Symbolic links to directories are not followed (no loops); symbolic links
///   to files are. A directory that cannot be listed is reported as a problem.
/// - The result is sorted by path (Swift string order, byte order for ASCII) and free of duplicates, so output is deterministic.
///
/// Paths are ``FileSystemPath`` strings: a name that is not UTF-8 keeps its bytes.
/// Only paths are held in memory, never file contents.
public enum KeyFilePathCollector {
    public static func collect(_ arguments: [String], recursive: Bool) -> [CollectedPath] {
        var found: [CollectedPath] = []
        for argument in arguments {
            var status = stat()
            if FileSystemPath.withCString(argument, { stat($0, &status) }) == 0, (status.st_mode & S_IFMT) == S_IFDIR {
                walk(argument, recursive: recursive, into: &found)
            } else {
                found.append(CollectedPath(path: argument))
            }
        }
        found.sort { $0.path < $1.path }
        var unique: [CollectedPath] = []
        unique.reserveCapacity(found.count)
        for entry in found where unique.last?.path != entry.path { unique.append(entry) }
        return unique
    }

    private static func walk(_ directory: String, recursive: Bool, into found: inout [CollectedPath]) {
        guard let stream = FileSystemPath.withCString(directory, { opendir($0) }) else {
            let reason = String(cString: strerror(errno))
            found.append(CollectedPath(path: directory, problem: .io("directory", path: directory, "cannot list the directory: \(reason)")))
            return
        }
        defer { closedir(stream) }
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        var subdirectories: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                // Bytes that are not UTF-8 are kept (escaped), so the name opens the same file again.
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { FileSystemPath.string(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            // A temporary file of an atomic write that was interrupted: never a key file to
            // check, and it may be partial.
            if SecureFile.isTemporaryName(name) { continue }
            let path = prefix + name
            var kind = entry.pointee.d_type
            if kind == UInt8(DT_UNKNOWN) {
                var status = stat()
                if FileSystemPath.withCString(path, { lstat($0, &status) }) == 0 {
                    switch status.st_mode & S_IFMT {
                    case S_IFDIR: kind = UInt8(DT_DIR)
                    case S_IFLNK: kind = UInt8(DT_LNK)
                    case S_IFREG: kind = UInt8(DT_REG)
                    default: kind = UInt8(DT_UNKNOWN)
                    }
                }
            }
            switch kind {
            case UInt8(DT_DIR):
                if recursive { subdirectories.append(path) }
            case UInt8(DT_LNK):
                var status = stat()
                // A link to a directory is skipped (never followed); a link to a file or a
                // dangling link is checked, so a broken backup link is reported.
                if FileSystemPath.withCString(path, { stat($0, &status) }) == 0, (status.st_mode & S_IFMT) == S_IFDIR { continue }
                found.append(CollectedPath(path: path))
            default:
                found.append(CollectedPath(path: path))
            }
        }
        for subdirectory in subdirectories { walk(subdirectory, recursive: recursive, into: &found) }
    }
}
