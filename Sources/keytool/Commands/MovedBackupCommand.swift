import ArgumentParser
import ToolSupport

/// `keytool backup` of release 1.1 and earlier: the backup reads the server installation and the
/// deployment database, which keytool no longer links. Scripts that still call it get one line
/// naming the new command (exit 64), not a generic "unexpected argument".
struct MovedBackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Moved: use miisserver backup.", shouldDisplay: false)

    @Argument(parsing: .allUnrecognized)
    var arguments: [String] = []

    func run() throws {
        throw ToolFailure(exitCode: ExitCodes.usage,
            "backup is now 'miisserver backup' (same options): it needs the server installation and its database")
    }
}
