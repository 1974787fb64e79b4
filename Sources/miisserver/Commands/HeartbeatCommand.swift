import ArgumentParser
import ToolSupport
import Deployment

struct HeartbeatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeat",
        abstract: "Record that this active server is alive (fails with exit 28 when it is fenced or not active).")

    @OptionGroup var installation: InstallationOptions

    func run() async throws {
        let installation = try installation.locate()
        let state = try await DeploymentAdministration.heartbeat(installation)
        printLine("Heartbeat recorded for '\(installation.configuration.serverName)' at epoch \(state.epoch).")
    }
}
