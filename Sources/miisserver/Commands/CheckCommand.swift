import ArgumentParser
import ToolSupport
import Deployment

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Exit 0 only when this server is the active one at the current epoch with its keys installed.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print the active server's epoch as JSON (schemaVersion 1).")
    var json = false

    func run() async throws {
        let installation = try installation.locate()
        let state = try await DeploymentAdministration.check(installation)
        if json {
            return try JSONOutput.print(HeartbeatCommand.ActiveServerReport(
                server: installation.configuration.serverName, epoch: state.epoch, leaseSeconds: state.leaseSeconds))
        }
        printLine("'\(installation.configuration.serverName)' is the active server at epoch \(state.epoch).")
    }
}
