import ArgumentParser
import KeyFile
import ToolSupport

/// `--new-password-file F` / `--new-password-stdin`: the new password of `passwd`, kept apart
/// from the current password's options so both can come from non-interactive sources.
struct NewPasswordOptions: ParsableArguments {
    @Option(name: .customLong("new-password-file"), help: ArgumentHelp("Read the new password from FILE, \(PasswordSource.lineRule).", valueName: "file"))
    var newPasswordFile: String?

    @Flag(name: .customLong("new-password-stdin"), help: "Read the new password from standard input, \(PasswordSource.lineRule).")
    var newPasswordStdin = false

    mutating func validate() throws {
        if newPasswordFile != nil, newPasswordStdin {
            throw ValidationError("use either --new-password-file or --new-password-stdin, not both")
        }
    }

    var source: PasswordSource {
        if let newPasswordFile { return .file(newPasswordFile) }
        return newPasswordStdin ? .standardInput : .prompt
    }
}

/// `--password-file-b F` / `--password-stdin-b`: the second file's password in `diff`.
struct SecondPasswordOptions: ParsableArguments {
    @Option(name: .customLong("password-file-b"), help: ArgumentHelp("Read B's password from FILE, \(PasswordSource.lineRule) (default: A's password).", valueName: "file"))
    var passwordFileB: String?

    @Flag(name: .customLong("password-stdin-b"), help: "Read B's password from standard input, \(PasswordSource.lineRule).")
    var passwordStdinB = false

    mutating func validate() throws {
        if passwordFileB != nil, passwordStdinB {
            throw ValidationError("use either --password-file-b or --password-stdin-b, not both")
        }
    }

    var isGiven: Bool { passwordFileB != nil || passwordStdinB }

    var source: PasswordSource {
        if let passwordFileB { return .file(passwordFileB) }
        return passwordStdinB ? .standardInput : .prompt
    }
}
