import KeyFile
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Standard input, output and error through plain `read(2)`/`write(2)`, never Foundation's
/// `FileHandle` (whose forced `try` kills the process with SIGILL when a descriptor is closed).
///
/// The rules (docs/security.md, "Hostile process environment"):
/// - a standard descriptor that is closed at start-up gets `/dev/null`, as daemons do, so no
///   file the tool opens later (a key file!) lands on 0, 1 or 2 and receives what is printed;
/// - when the reader of standard output or standard error goes away (EPIPE: `| head -1`), the
///   tool ends at once and quietly, killed by SIGPIPE as any Unix filter is (a shell reports 141),
///   also when the PostgreSQL client (SwiftNIO) has set SIGPIPE to be ignored.
package enum StandardStreams {
    /// What a shell reports for a process killed by SIGPIPE; the exit status when raising fails.
    package static let brokenPipeStatus: Int32 = 128 + SIGPIPE

    /// Call first thing in `main`: re-opens closed standard descriptors on `/dev/null` and
    /// restores SIGPIPE's default action (an inherited "ignore" would turn `| head` into EPIPE).
    package static func prepare() {
        for descriptor in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(descriptor, F_GETFD) < 0 && errno == EBADF {
            let null = open("/dev/null", O_RDWR)
            // open returns the lowest free descriptor, which is `descriptor` since the lower
            // ones are open; dup2 covers the case where it is not.
            if null >= 0, null != descriptor {
                _ = dup2(null, descriptor)
                close(null)
            }
        }
        _ = signal(SIGPIPE, SIG_DFL)
    }

    /// The command line as the tool received it: arguments that are not UTF-8 keep their bytes
    /// (``FileSystemPath``), so a file name `$'\xff.bin'` opens that file. Without the program name.
    package static func arguments() -> [String] {
        ProcessArguments.afterProgramName
    }

    /// Writes `text` to standard output. Escaped file-name bytes are shown as `\xHH`.
    package static func output(_ text: String) {
        write(FileSystemPath.visible(text), to: STDOUT_FILENO)
    }

    /// Writes `text` to standard error. Escaped file-name bytes are shown as `\xHH`.
    package static func error(_ text: String) {
        write(FileSystemPath.visible(text), to: STDERR_FILENO)
    }

    /// Writes all of `text` with `write(2)` (swift-system's `writeAll`: EINTR and short writes
    /// retried). A reader that is
    /// gone ends the process (``outputGone()``); any other failure drops the text: there is no
    /// other place to report it, and the exit status still tells the outcome.
    package static func write(_ text: String, to descriptor: Int32) {
        // Buffered `print` output must come out before this text.
        if descriptor == STDOUT_FILENO || descriptor == STDERR_FILENO { fflush(nil) }
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return }
        let complete = bytes.withUnsafeBytes { buffer -> Bool in
            do {
                _ = try FileDescriptor(rawValue: descriptor).writeAll(buffer)
                return true
            } catch let error as Errno where error == .brokenPipe {
                return false
            } catch {
                return true
            }
        }
        bytes.removeAll()
        if !complete { outputGone() }
    }

    /// Reads standard input to its end, at most `limit` bytes, into wiped memory. Returns nil
    /// when there is more than `limit`. A closed or unreadable standard input reads as empty.
    package static func readInput(limit: Int) -> SecureBytes? {
        var count = 0
        var overflow = false
        let input = FileDescriptor.standardInput
        let data = SecureBytes(count: limit) { buffer in
            while count < limit {
                // swift-system retries EINTR; an error or the end of input ends the read.
                guard let result = try? input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...])), result > 0 else { return }
                count += result
            }
            var probe: UInt8 = 0
            overflow = ((try? withUnsafeMutableBytes(of: &probe) { try input.read(into: $0) }) ?? 0) > 0
        }
        if overflow { return nil }
        return data.withUnsafeBytes { raw in
            SecureBytes(count: count) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
        }
    }

    /// Ends the process with `code` after flushing `print`ed output. When the flush finds the
    /// reader gone, the process ends as ``outputGone()`` does instead.
    package static func exit(_ code: Int32) -> Never {
        if fflush(nil) != 0, errno == EPIPE { outputGone() }
        Glibc.exit(code)
    }

    /// The reader of our output went away: end now, quietly, as a process killed by SIGPIPE.
    package static func outputGone() -> Never {
        _ = signal(SIGPIPE, SIG_DFL)
        _ = raise(SIGPIPE)
        _exit(brokenPipeStatus)
    }
}
