import ArgumentParser
import ToolSupport
import Deployment

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Exit 0 only when this server is the active one at the current epoch with its keys installed.")

    @OptionGroup var installation: InstallationOptions

    func run() async throws {
        let installation = try installation.locate()
        let state = try await DeploymentAdministration.check(installation)
        printLine("'\(installation.configuration.serverName)' is the active server at epoch \(state.epoch).")
    }
}
