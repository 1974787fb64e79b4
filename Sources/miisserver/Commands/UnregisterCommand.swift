import ArgumentParser
import Deployment
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

    func run() async throws {
        let warnings = try await DeploymentAdministration.unregister(try installation.locate(), server: name)
        for warning in warnings { printWarning(warning) }
        printLine("Unregistered '\(name)' from the deployment.")
    }
}
