import ArgumentParser
import Deployment
import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// An error a tool reports with its own exit status and a one-line message.
public struct ToolFailure: Error, CustomStringConvertible, Sendable {
    public let exitCode: Int32
    public let message: String
    public init(exitCode: Int32, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }
    public var description: String { message }
}

/// Prints one line to standard error, escaped with ``TerminalText/escaped(_:)`` (messages quote
/// file names, server names and other untrusted text), with write(2): a closed or gone stderr
/// never crashes the tool.
public func printError(_ line: String) {
    StandardStreams.error(TerminalText.escaped(line) + "\n")
}

/// Maps any error to (exit code, one-line message), so no tool ever prints a stack trace.
public func exitStatus(for error: any Error) -> (code: Int32, message: String) {
    switch error {
    case let error as KeyFileError: return (error.category.exitCode, error.message)
    case let error as DeploymentError: return (error.exitCode, error.message)
    case let error as ToolFailure: return (error.exitCode, error.message)
    case let error as ActivateCommandLine.UsageError: return (ExitCodes.usage, error.message)
    default: return (1, String(describing: error))
    }
}

extension ParsableCommand {
    /// Runs the command like `main()`, but reports library errors as one line on stderr with the
    /// documented exit code instead of ArgumentParser's generic handling. `arguments` defaults to
    /// the process's own, with file names that are not UTF-8 kept as bytes (``FileSystemPath``).
    public static func runMain(toolName: String, arguments: [String]? = nil) -> Never {
        StandardStreams.prepare()
        ProcessHardening.apply()
        do {
            var command = try parseAsRoot(arguments ?? StandardStreams.arguments())
            if let asyncCommand = command as? any AsyncParsableCommand {
                try runBlocking(asyncCommand)
            } else {
                try command.run()
            }
            StandardStreams.exit(0)
        } catch let error as KeyFileError {
            fail(toolName, error)
        } catch let error as DeploymentError {
            fail(toolName, error)
        } catch let error as ToolFailure {
            fail(toolName, error)
        } catch {
            // Flush what was printed first (a reader that went away ends the tool quietly).
            if fflush(nil) != 0, errno == EPIPE { StandardStreams.outputGone() }
            // ArgumentParser's own messages quote the arguments, file names among them: print them
            // escaped, as one `TOOL: message` line. --help/--version (success) and the silent
            // `ExitCode` of verify/audit/diff keep ArgumentParser's handling.
            let code = exitCode(for: error)
            let text = message(for: error)
            guard code != .success, !text.isEmpty else { exit(withError: error) }
            printError("\(toolName): \(text)")
            StandardStreams.exit(code.rawValue)
        }
    }
}

private func fail(_ toolName: String, _ error: any Error) -> Never {
    let (code, message) = exitStatus(for: error)
    printError("\(toolName): \(message)")
    StandardStreams.exit(code)
}

/// Runs an async command to completion from synchronous code (the main thread of a tool), so
/// `runMain` serves both `ParsableCommand` and `AsyncParsableCommand`.
private func runBlocking(_ command: any AsyncParsableCommand) throws {
    final class Box: @unchecked Sendable {
        var command: any AsyncParsableCommand
        var error: (any Error)?
        init(_ command: any AsyncParsableCommand) { self.command = command }
    }
    let box = Box(command)
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { try await box.command.run() } catch { box.error = error }
        done.signal()
    }
    done.wait()
    if let error = box.error { throw error }
}

/// Awaits `body` from synchronous code (a sync command's `run()` on the main thread).
/// Never call it from inside an async context: it blocks the calling thread.
public func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    guard let result = box.result else { throw ToolFailure(exitCode: 1, "internal error: the awaited task ended without a result") }
    return try result.get()
}

private final class BlockingResultBox<T>: @unchecked Sendable {
    // Written once by the task before the semaphore is signalled, read after the wait.
    var result: Result<T, any Error>?
}
