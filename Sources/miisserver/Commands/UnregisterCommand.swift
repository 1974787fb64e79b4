import ArgumentParser
import Deployment
import DeploymentCommandLine
import ToolSupport

/// `miisserver unregister NAME`: retires a server that is gone from the deployment.
struct UnregisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unregister",
        abstract: "Retire a server that is gone (a lost host, a decommissioned standby) from the deployment.",
        discussion: """
            Removes NAME's registration from the shared database, logged in the history with this server and the \
            operator. Refused for the deployment's active server (activate another one first) and for an unknown \
            name. A retired server rejoins with miisserver setup.
            """)

    @Argument(help: ArgumentHelp("The server to retire.", valueName: "name"))
    var name: String

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    /// `miisserver unregister --json`: the server retired, and the warnings (also on stderr).
    struct UnregisterReport: Codable {
        var schemaVersion = 1
        var unregistered: String
        var warnings: [String]
    }

    func run() async throws {
        let warnings = try await DeploymentAdministration.unregister(try installation.locate(), server: name)
        for warning in warnings { printWarning(warning) }
        if json { return try JSONOutput.print(UnregisterReport(unregistered: name, warnings: warnings.map(\.commandLineText))) }
        printLine("Unregistered '\(name)' from the deployment.")
    }
}
