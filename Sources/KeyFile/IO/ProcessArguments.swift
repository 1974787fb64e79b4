#if canImport(Glibc)
import Glibc
#endif

/// The command line this process was started with, `argv[0]` first, every entry decoded as a
/// file-system name (``FileSystemPath``: bytes that are not UTF-8 are kept).
///
/// On Linux the Swift runtime finds `argv` by walking back from `environ` in a library
/// constructor; a preloaded library that calls `setenv` before that constructor runs (libfaketime,
/// some monitoring agents) moves `environ`, and `CommandLine` then reports no arguments at all
/// (swiftlang/swift#76080). A tool must not then run as if it had been given none, nor crash:
/// when `CommandLine` is empty, the kernel's copy of the arguments, `/proc/self/cmdline`, is read.
package enum ProcessArguments {
    /// Every argument, the program name first; empty only when the process really was started
    /// without any (an `execve` with an empty `argv`) and `/proc` is not mounted.
    package static let all: [String] = {
        if CommandLine.argc > 0 {
            return (0..<Int(CommandLine.argc)).map { index in
                CommandLine.unsafeArgv[index].map { FileSystemPath.string(cString: $0) } ?? ""
            }
        }
        return kernelCopy()
    }()

    /// The arguments after the program name.
    package static var afterProgramName: [String] { Array(all.dropFirst()) }

    /// `argv[0]`, if there is one.
    package static var programName: String? { all.first }

    /// `/proc/self/cmdline`: the arguments, each followed by a NUL byte.
    static func kernelCopy() -> [String] {
        let descriptor = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        // Bounded: the kernel caps the argument area (ARG_MAX); 16 MiB is well above it.
        while bytes.count < 16 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        var arguments = bytes.split(separator: 0, omittingEmptySubsequences: false).map { FileSystemPath.string(bytes: $0) }
        // The last argument's terminating NUL leaves one empty entry behind.
        if arguments.last?.isEmpty == true { arguments.removeLast() }
        return arguments
    }
}
