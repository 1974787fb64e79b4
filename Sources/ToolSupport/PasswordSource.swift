#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KeyFile
import SystemPackage
#if canImport(Glibc)
import Glibc
#endif

/// Where a password comes from. Never from a plain argument value: argv is visible to every local
/// user in the process list.
package enum PasswordSource: Sendable {
    /// A terminal prompt with echo off (`/dev/tty`).
    case prompt
    /// Standard input to its end (one typed line when it is a terminal).
    case standardInput
    /// The whole content of a file (which should be 0600).
    case file(String)

    /// The rule every tool's help and docs state for password files and standard input (format
    /// section 5.1), so the three tools say it in the same words.
    package static let lineRule = "one line: a final newline is removed; more than one line is refused (exit 16)"

    /// Reads and normalizes the password. `confirm` asks twice on a terminal (for new passwords).
    package func read(prompt text: String = "Password: ", confirm: Bool = false) throws -> Password {
        switch self {
        case .prompt:
            let first = try TerminalPrompt.readSecret(text)
            if confirm {
                let second = try TerminalPrompt.readSecret("Repeat \(text.lowercased())")
                guard first == second else { throw KeyFileError.invalidInput("password-mismatch", "the two passwords differ") }
            }
            return try Password(utf8: first)
        case .standardInput:
            // A person typing at a terminal ends the password with Enter, not with Ctrl-D.
            if TerminalPrompt.standardInputIsTerminal {
                return try Password(utf8: try Self.readLine(from: STDIN_FILENO, what: "standard input"))
            }
            return try Password(utf8: try Self.readToEnd(from: STDIN_FILENO, what: "standard input"))
        case .file(let path):
            let descriptor = FileSystemPath.withCString(path) { open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
            guard descriptor >= 0 else {
                throw KeyFileError.io("password-file", path: path, "cannot open the password file: \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
                throw KeyFileError.io("password-file", path: path, "the password file is not a regular file")
            }
            // As a group-writable key file is refused, a password others can read is said aloud.
            if status.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH) != 0 {
                printWarning("the password file \(path) is readable or writable by group or others (mode 0\(String(status.st_mode & 0o777, radix: 8))); chmod 600 it")
            }
            return try Password(utf8: try Self.readToEnd(from: descriptor, what: path))
        }
    }

    /// Reads a password file or piped standard input to its end, into a wiped buffer. The whole
    /// input is the password less one final line ending (format section 5.1); ``Password``
    /// refuses what then still holds a line break, so `pw\n\n` or `line1\nline2` is refused,
    /// never cut at the first line. More than the longest password plus CR LF is refused
    /// without reading further.
    static func readToEnd(from descriptor: Int32, what source: String, limit maximum: Int = Password.maximumLength) throws -> SecureBytes {
        let limit = maximum + 2
        var count = 0
        // One byte more than the limit tells "exactly the limit" from "longer".
        let input = try SecureBytes(count: limit + 1) { buffer in
            while count <= limit {
                let result: Int
                do {
                    result = try FileDescriptor(rawValue: descriptor).read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count...]))
                } catch let error as Errno {
                    throw KeyFileError.io("password-read", path: source, "cannot read the password: \(error.description)")
                }
                if result == 0 { break }
                count += result
            }
        }
        guard count > 0 else { throw KeyFileError.invalidInput("password", "no password on \(source)") }
        guard count <= limit else {
            throw KeyFileError.invalidInput("password", "the password on \(source) is longer than \(maximum) bytes")
        }
        return input.withUnsafeBytes { buffer in
            SecureBytes(count: count) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
        }
    }

    /// Reads one typed line (a terminal, or standard input that is one) up to the first newline
    /// (inclusive) byte by byte, so that nothing after the line is consumed, into a wiped buffer. `limit` is the longest line accepted;
    /// `what` names the value in messages ("password", "secret value").
    static func readLine(from descriptor: Int32, what source: String, limit maximum: Int = Password.maximumLength,
                         value: String = "password") throws -> SecureBytes {
        let limit = maximum + 2
        var count = 0
        let line = try SecureBytes(count: limit) { buffer in
            while count < limit {
                let result: Int
                do {
                    // One byte at a time (swift-system retries EINTR), so nothing after the line is consumed.
                    result = try FileDescriptor(rawValue: descriptor).read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[count..<(count + 1)]))
                } catch let error as Errno {
                    throw KeyFileError.io("password-read", path: source, "cannot read the \(value): \(error.description)")
                }
                if result == 0 { break }
                count += 1
                if buffer[count - 1] == 0x0A { break }
            }
        }
        guard count > 0 else { throw KeyFileError.invalidInput("password", "no \(value) on \(source)") }
        return try line.withUnsafeBytes { buffer in
            guard count < limit || buffer[count - 1] == 0x0A else {
                throw KeyFileError.invalidInput("password", "the \(value) on \(source) is longer than \(maximum) bytes")
            }
            return SecureBytes(count: count) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
        }
    }
}

/// Reads secrets from the controlling terminal with echo turned off.
package enum TerminalPrompt {
    /// Whether standard input is a terminal.
    package static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    package static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Prompts on `/dev/tty` and reads one line without echo. Fails clearly when there is no terminal.
    /// A SIGINT, SIGTERM, SIGHUP or SIGQUIT while the prompt is open (Ctrl-C) puts the terminal
    /// back as it was (echo on) before the signal ends the process with its default action
    /// (a shell reports 128 + the signal: 130 for Ctrl-C).
    package static func readSecret(_ prompt: String, limit: Int = Password.maximumLength, value: String = "password") throws -> SecureBytes {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard tty >= 0 else {
            throw KeyFileError.invalidInput("no-terminal", "no terminal to prompt for the \(value); use --password-file F or --password-stdin")
        }
        defer { close(tty) }
        var original = termios()
        guard tcgetattr(tty, &original) == 0 else {
            throw KeyFileError.invalidInput("no-terminal", "cannot turn off echo on the terminal; use --password-file F or --password-stdin")
        }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        _ = prompt.withCString { write(tty, $0, strlen($0)) }
        let restoring = InterruptedPrompt.arm(terminal: tty, state: original)
        defer { InterruptedPrompt.disarm(restoring) }
        guard tcsetattr(tty, TCSAFLUSH, &silent) == 0 else {
            throw KeyFileError.invalidInput("no-terminal", "cannot turn off echo on the terminal")
        }
        defer { _ = tcsetattr(tty, TCSAFLUSH, &original) }
        return try PasswordSource.readLine(from: tty, what: "the terminal", limit: limit, value: value)
    }

    /// Asks a yes/no question on the terminal; anything but "y"/"yes" is no.
    package static func confirm(_ question: String) -> Bool {
        StandardStreams.error("\(TerminalText.escaped(question)) [y/N] ")
        guard let answer = Swift.readLine() else { return false }
        return ["y", "yes"].contains(UnicodeNormalization.trimmingWhitespace(answer).lowercased())
    }

    /// Reads one visible line from the terminal (for non-secret questions).
    package static func ask(_ question: String) -> String? {
        StandardStreams.error(TerminalText.escaped(question))
        return Swift.readLine().map(UnicodeNormalization.trimmingWhitespace)
    }
}

/// The terminal state a signal handler puts back when a signal ends the process while echo is
/// off. Only one prompt is open at a time (prompts run on the tool's one command task).
private enum InterruptedPrompt {
    /// The signals whose default action ends the process and that a user or a supervisor sends.
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// Saves the state, then installs the handlers; returns the previous handlers.
    static func arm(terminal: Int32, state: termios) -> [(Int32, __sighandler_t?)] {
        savedState = state
        savedTerminal = terminal
        return signals.map { ($0, signal($0, restoreTerminalAndResignal)) }
    }

    /// Puts the previous handlers back; the terminal is restored by the caller.
    static func disarm(_ previous: [(Int32, __sighandler_t?)]) {
        for (number, handler) in previous { _ = signal(number, handler) }
        savedTerminal = -1
    }
}

// Written before the handlers are installed and read only by them; tcsetattr, write, signal and
// raise are async-signal-safe.
nonisolated(unsafe) private var savedTerminal: Int32 = -1
nonisolated(unsafe) private var savedState = termios()

private func restoreTerminalAndResignal(_ number: Int32) {
    if savedTerminal >= 0 {
        _ = tcsetattr(savedTerminal, TCSANOW, &savedState)
        // The user's Enter was never echoed: end the prompt line so the shell's prompt starts fresh.
        _ = write(savedTerminal, "\n", 1)
    }
    _ = signal(number, SIG_DFL)
    _ = raise(number)
}
