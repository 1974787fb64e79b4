import ArgumentParser
import Deployment
import DeploymentCommandLine
import Foundation
import KeyFile
import MiisactivateCommand
import ToolSupport

/// `miisserver`: the deployment's administration tool.
@main
struct MiisServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "miisserver",
        abstract: "Set up and administer the servers of a MIIS deployment and their shared database.",
        discussion: """
            DATABASE LOCATIONS: --database takes a SQLite file path (e.g. /var/lib/miis/shared.db, \
            stored absolute in server.json) or a PostgreSQL URL, \
            postgres://USER@HOST[:PORT]/DATABASE[?PARAMETERS] (e.g. \
            'postgres://miis_runtime@db1.example.com/miis?sslmode=verify-full'); passwords never go \
            in the URL (PGPASSWORD, PGPASSFILE or ~/.pgpass, as libpq). See postgresql.md and \
            miisserver.md in PREFIX/share/doc/miis.

            Server names are matched without regard to letter case: SYNC1 and sync1 name one server, \
            and a second server differing only in case is refused at setup.

            EXIT STATUS (shared by keytool, miisserver and miisactivate)
            \(ExitCodes.table)
            """,
        version: ToolkitRelease.version,
        subcommands: [SetupCommand.self, RepairCommand.self, StatusCommand.self, BackupCommand.self, PasswordSyncCommand.self, SecretCommand.self,
                      LeaseCommand.self, HeartbeatCommand.self, CheckCommand.self, HistoryCommand.self, KeysCommand.self, UpgradeCommand.self, UnregisterCommand.self])

    /// One executable, two programs (a multi-call binary, as busybox is): invoked as
    /// `miisactivate` (a link to this file), it is the reference's miisactivate.
    static func main() async {
        if invokedName == "miisactivate" { await Miisactivate.main() }
        // A fenced server (heartbeat, check) is an event for the host's log as much as an exit status.
        await runMain(toolName: "miisserver", remedies: deploymentRemedies, systemLogged: ["fenced"])
    }

    /// The last path component of the name this process was started as (`argv[0]`).
    static var invokedName: String {
        guard let first = ProcessArguments.programName, let last = first.split(separator: "/").last else { return "" }
        return String(last)
    }
}

/// The installation: the parent of the Bin/ folder holding this executable, else `--install-dir DIR`, else MIIS_INSTALL_DIR.
struct InstallationOptions: ParsableArguments {
    @Option(name: .customLong("install-dir"), help: ArgumentHelp("The server installation directory, when this tool is not in its Bin/ (else MIIS_INSTALL_DIR).", valueName: "dir"))
    var installDir: String?

    @Flag(name: [.customLong("verbose"), .customShort("v")], help: "Log what the command does to standard error.")
    var verbose = false

    func validate() throws {
        Diagnostics.bootstrap(verbose: verbose)
    }

    func locate() throws -> ServerInstallation {
        try ServerInstallation.locate(explicit: installDir)
    }
}

func printWarning(_ warning: DeploymentWarning) {
    printWarning(warning.commandLineText)
}

extension Date {
    var iso8601: String { ISO8601DateFormatter().string(from: self) }
}

/// Seconds as `30 s` or `2.5 s`.
func formatSeconds(_ seconds: Double) -> String {
    DeploymentState.formatSeconds(seconds) + " s"
}

func formatAge(_ seconds: Double?) -> String {
    guard let seconds else { return "never" }
    return String(format: "%.1fs ago", max(0, seconds))
}
