#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ToolSupport

/// The command line of `miisactivate`, faithful to the reference:
///
///     miisactivate [FileName] [UserName {Password | *}] [/q]
///     miisactivate /?
///
/// plus Linux conventions (`-q`/`--quiet`, `-h`/`--help`, `--install-dir`, `--dry-run`,
/// `--force --reason`, `--json`, `--lease`, `--password-file`, `--allow-weak-kdf`, `--`). Slash switches are
/// case-insensitive; `--` ends options so a file literally named `/q` can still be given.
struct ActivateCommandLine: Equatable, Sendable {
    /// How the password was given.
    enum PasswordArgument: Equatable, Sendable {
        /// Not given: asked for interactively (an error in quiet mode).
        case missing
        /// `*`: prompt with echo off on a terminal, else read one line from stdin.
        case prompt
        /// Given literally on the command line (works, but others can see it in `ps`).
        case literal(String)
        /// `--password-file F`.
        case file(String)
    }

    var fileName: String?
    var userName: String?
    var password: PasswordArgument = .missing
    var quiet = false
    var help = false
    var version = false
    var installDirectory: String?
    var dryRun = false
    var force = false
    var reason: String?
    var json = false
    var lease: Double?
    var verbose = false
    var allowWeakKDF = false

    init() {}

    /// Every option, as completions and suggestions offer them.
    static let options = ["--quiet", "--help", "--version", "--install-dir", "--dry-run", "--force", "--reason", "--json",
                          "--verbose", "--allow-weak-kdf", "--password-file", "--lease"]
    /// The reference's slash switches.
    static let switches = ["/q", "/?", "/h", "/help"]

    /// A usage error: exit status 64, like every tool of the toolkit.
    struct UsageError: Error, Equatable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Parses `arguments` (without the program name).
    init(parsing arguments: [String]) throws {
        var positionals: [String] = []
        var index = 0
        var optionsEnded = false
        func value(for option: String) throws -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(message: "\(option) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            defer { index += 1 }
            if optionsEnded { positionals.append(argument); continue }
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func optionValue() throws -> String { try inlineValue ?? value(for: name) }
            switch name.hasPrefix("/") ? name.lowercased() : name {
            case "--": optionsEnded = true
            case "/q", "-q", "--quiet": quiet = true
            case "/?", "/h", "/help", "-h", "--help", "-?": help = true
            case "--version": version = true
            case "--install-dir": installDirectory = try optionValue()
            case "--dry-run": dryRun = true
            case "--force": force = true
            case "--reason": reason = try optionValue()
            case "--json": json = true
            case "--verbose", "-v": verbose = true
            case "--allow-weak-kdf": allowWeakKDF = true
            case "--password-file": password = .file(try optionValue())
            case "--lease":
                let text = try optionValue()
                guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                    throw UsageError(message: "--lease needs a positive number of seconds, not '\(text)'")
                }
                lease = seconds
            default:
                if argument.hasPrefix("-"), argument != "-", argument.count > 1 {
                    let hint = Suggestions.clause(for: name, among: Self.options)
                    throw UsageError(message: "unknown option '\(name)'" + (hint.isEmpty ? "; see miisactivate /?" : hint))
                }
                if argument.hasPrefix("/"), argument.count <= 3, !argument.dropFirst().contains("/") {
                    let hint = Suggestions.clause(for: argument.lowercased(), among: Self.switches)
                    throw UsageError(message: "unknown switch '\(argument)'" + (hint.isEmpty ? "; see miisactivate /?" : hint)
                        + " (use -- before a file name that starts with /)")
                }
                positionals.append(argument)
            }
        }
        guard positionals.count <= 3 else {
            throw UsageError(message: "too many arguments: expected [FileName] [UserName {Password | *}]")
        }
        fileName = positionals.first
        userName = positionals.count > 1 ? positionals[1] : nil
        if positionals.count > 2 {
            guard case .missing = password else {
                throw UsageError(message: "give the password either as an argument or with --password-file, not both")
            }
            password = positionals[2] == "*" ? .prompt : .literal(positionals[2])
        }
        if force, (reason ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
            throw UsageError(message: "--force needs --reason TEXT: a forced takeover is recorded in the activation log with its reason")
        }
        if reason != nil, !force {
            throw UsageError(message: "--reason goes with --force")
        }
    }
}
