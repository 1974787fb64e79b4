import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// Where a password comes from. Never from a plain argument value: argv is visible to every local
/// user in the process list.
public enum PasswordSource: Sendable {
    /// A terminal prompt with echo off (`/dev/tty`).
    case prompt
    /// The first line of standard input.
    case standardInput
    /// The first line of a file (which should be 0600).
    case file(String)

    /// Reads and normalizes the password. `confirm` asks twice on a terminal (for new passwords).
    public func read(prompt text: String = "Password: ", confirm: Bool = false) throws -> Password {
        switch self {
        case .prompt:
            let first = try TerminalPrompt.readSecret(text)
            if confirm {
                let second = try TerminalPrompt.readSecret("Repeat \(text.lowercased())")
                guard first == second else { throw KeyFileError.invalidInput("password-mismatch", "the two passwords differ") }
            }
            return try Password(utf8: first)
        case .standardInput:
            return try Password(utf8: try Self.readLine(from: STDIN_FILENO, what: "standard input"))
        case .file(let path):
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard descriptor >= 0 else {
                throw KeyFileError.io("password-file", path: path, "cannot open the password file: \(String(cString: strerror(errno)))")
            }
            defer { close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
                throw KeyFileError.io("password-file", path: path, "the password file is not a regular file")
            }
            return try Password(utf8: try Self.readLine(from: descriptor, what: path))
        }
    }

    /// Reads up to the first newline (inclusive) byte by byte, so that nothing after the line is
    /// consumed from a shared stdin, into a wiped buffer.
    static func readLine(from descriptor: Int32, what: String) throws -> SecureBytes {
        let limit = Password.maximumLength + 2
        var count = 0
        let line = try SecureBytes(count: limit) { buffer in
            while count < limit {
                let result = Glibc.read(descriptor, buffer.baseAddress?.advanced(by: count), 1)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw KeyFileError.io("password-read", path: what, "cannot read the password: \(String(cString: strerror(errno)))")
                }
                if result == 0 { break }
                count += 1
                if buffer[count - 1] == 0x0A { break }
            }
        }
        guard count > 0 else { throw KeyFileError.invalidInput("password", "no password on \(what)") }
        return try line.withUnsafeBytes { buffer in
            guard count < limit || buffer[count - 1] == 0x0A else {
                throw KeyFileError.invalidInput("password", "the password on \(what) is longer than \(Password.maximumLength) bytes")
            }
            return SecureBytes(count: count) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<count])) }
        }
    }
}

/// Reads secrets from the controlling terminal with echo turned off.
public enum TerminalPrompt {
    /// Whether standard input is a terminal.
    public static var standardInputIsTerminal: Bool { isatty(STDIN_FILENO) == 1 }
    public static var standardErrorIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }

    /// Prompts on `/dev/tty` and reads one line without echo. Fails clearly when there is no terminal.
    public static func readSecret(_ prompt: String) throws -> SecureBytes {
        let tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard tty >= 0 else {
            throw KeyFileError.invalidInput("no-terminal", "no terminal to prompt for the password; use --password-file F or --password-stdin")
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
        guard tcsetattr(tty, TCSAFLUSH, &silent) == 0 else {
            throw KeyFileError.invalidInput("no-terminal", "cannot turn off echo on the terminal")
        }
        defer { _ = tcsetattr(tty, TCSAFLUSH, &original) }
        return try PasswordSource.readLine(from: tty, what: "the terminal")
    }

    /// Asks a yes/no question on the terminal; anything but "y"/"yes" is no.
    public static func confirm(_ question: String) -> Bool {
        FileHandle.standardError.write(Data("\(TerminalText.escaped(question)) [y/N] ".utf8))
        guard let answer = Swift.readLine() else { return false }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    }

    /// Reads one visible line from the terminal (for non-secret questions).
    public static func ask(_ question: String) -> String? {
        FileHandle.standardError.write(Data(TerminalText.escaped(question).utf8))
        return Swift.readLine()?.trimmingCharacters(in: .whitespaces)
    }
}
