import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// The root command. To add a subcommand, write `Commands/<Name>Command.swift` and append its
/// type to `subcommands` below. keytool links the key-file library only: commands that need a
/// server installation or the database belong to miisserver (`miisserver backup`).
@main
struct Keytool: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keytool",
        abstract: "Inspect, verify, create, re-protect, export, audit and compare encryption key files.",
        discussion: """
        Passwords are never taken as argument values: keytool prompts on the terminal with echo \
        off, or reads --password-file FILE or standard input (--password-stdin): \
        \(PasswordSource.lineRule). --json prints a versioned report (schemaVersion 1) on stdout; \
        diagnostics go to stderr. No command prints a password or key material, except \
        export-keys, deliberately and only when asked explicitly. The key-file format and the \
        commands are described in key-file-format.md and keytool.md in PREFIX/share/doc/miis.

        EXIT STATUS (shared by keytool, miisserver and miisactivate)
        \(ExitCodes.table)
        verify exits with the code of the most severe failure class among its files:
        tampered > corrupted > wrong credentials > crypto > out of bounds
        > unsupported > unreadable > invalid.
        """,
        version: ToolkitRelease.version,
        subcommands: [
            InspectCommand.self,
            VerifyCommand.self,
            ListCommand.self,
            CreateCommand.self,
            PasswdCommand.self,
            ExportKeysCommand.self,
            AuditCommand.self,
            DiffCommand.self,
            MovedBackupCommand.self,
        ]
    )

    static func main() async {
        await runMain(toolName: "keytool", remedies: remedies)
    }

    /// What keytool adds to the key-file library's messages: its own flags.
    static let remedies: Remedies = { error in
        error.errorCode == "io.exists" ? "use --force to replace it" : nil
    }
}

/// keytool's steps, on standard error with --verbose (``VerboseOption``); never secrets.
let keytoolLog = Logger(label: "keytool")
