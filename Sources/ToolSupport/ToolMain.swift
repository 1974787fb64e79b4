import ArgumentParser
import ErrorReporting
import KeyFile
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An error a tool raises itself, with its own exit status and a one-line message.
package struct ToolFailure: Error, CustomStringConvertible, Sendable {
    package let exitCode: Int32
    package let message: String
    package init(exitCode: Int32, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }
    package var description: String { message }
}

/// Prints one line to standard error, escaped with ``TerminalText/escaped(_:)`` (messages quote
/// file names, server names and other untrusted text), with write(2): a closed or gone stderr
/// never crashes the tool.
package func printError(_ line: String) {
    StandardStreams.error(TerminalText.escaped(line) + "\n")
}

/// The name the running tool reports under (`TOOL: message`), set once by its entry point, so
/// that shared code (the password sources) speaks in the tool's voice.
package enum ToolIdentity {
    private static let current = Mutex("miis")

    package static var name: String {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
}

/// Prints `TOOL: warning: text` on standard error, one line, escaped.
package func printWarning(_ text: String) {
    printError("\(ToolIdentity.name): warning: \(text)")
}

/// What a tool adds to a library's message: the command to run next, in the tool's own syntax
/// ("run miisserver repair"). The libraries never name flags or commands.
package typealias Remedies = @Sendable (any ReportableError) -> String?

/// How a failure is reported: the exit status and the one line printed after `TOOL: `.
package struct ReportedFailure: Sendable, Equatable {
    package let exitCode: Int32
    package let message: String

    package init(exitCode: Int32, message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    /// Classifies any error, so that no tool ever prints a stack trace: a library's
    /// ``ReportableError`` by its class (with the tool's remedy appended), a ``ToolFailure`` as
    /// it is, anything else as an internal error (status 1).
    package init(_ error: any Error, remedies: Remedies? = nil) {
        switch error {
        case let error as any ReportableError:
            exitCode = ExitCodes.status(for: error)
            message = error.message + (remedies?(error).map { "; " + $0 } ?? "")
        case let error as ToolFailure:
            exitCode = error.exitCode
            message = error.message
        default:
            exitCode = ExitCodes.internalError
            message = String(describing: error)
        }
    }
}

extension ParsableCommand {
    /// The body of a root command's `static func main() async`: parses the process's own
    /// arguments (file names that are not UTF-8 kept as bytes, ``FileSystemPath``), runs the
    /// command, sync or async, and reports any failure as one `TOOL: message` line on stderr
    /// with the documented exit status instead of ArgumentParser's generic handling.
    /// Failures of the error classes in `systemLogged` (miisserver: `fenced`) are also written to
    /// the system log (``SystemLog``).
    package static func runMain(toolName: String, arguments: [String]? = nil, remedies: Remedies? = nil,
                                systemLogged: Set<String> = []) async -> Never {
        ToolIdentity.name = toolName
        StandardStreams.prepare()
        ProcessHardening.apply()
        do {
            var command = try parseAsRoot(arguments ?? StandardStreams.arguments())
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            StandardStreams.exit(ExitCodes.success)
        } catch let error as any ReportableError {
            let failure = ReportedFailure(error, remedies: remedies)
            if systemLogged.contains(error.errorClass) {
                SystemLog.send("refused (\(error.errorClass), exit \(failure.exitCode)): \(failure.message)", severity: .error)
            }
            fail(toolName, failure)
        } catch let error as ToolFailure {
            fail(toolName, ReportedFailure(error))
        } catch {
            // Flush what was printed first (a reader that went away ends the tool quietly).
            if fflush(nil) != 0, errno == EPIPE { StandardStreams.outputGone() }
            // ArgumentParser's own messages quote the arguments, file names among them: print them
            // escaped, as one `TOOL: message` line. --help/--version (success) and the silent
            // `ExitCode` of verify/audit/diff keep ArgumentParser's handling.
            let code = exitCode(for: error)
            let text = message(for: error)
            guard code != .success, !text.isEmpty else { exit(withError: error) }
            // A mistyped option or command is named first, with the nearest spelling, whatever
            // ArgumentParser found first (a missing argument, say): the typo is the cause.
            if code == .validationFailure, let unknown = UnknownWord.find(in: arguments ?? StandardStreams.arguments(), tool: Self.self) {
                printError("\(toolName): \(unknown)")
                StandardStreams.exit(ExitCodes.usage)
            }
            printError("\(toolName): \(text)")
            StandardStreams.exit(code.rawValue)
        }
    }
}

private func fail(_ toolName: String, _ failure: ReportedFailure) -> Never {
    printError("\(toolName): \(failure.message)")
    StandardStreams.exit(failure.exitCode)
}
