import ArgumentParser
import ToolSupport
import Deployment

struct HeartbeatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heartbeat",
        abstract: "Record that this active server is alive (fails with exit 28 when it is fenced or not active).",
        discussion: "Prints nothing on success (a timer runs it every few seconds) unless --verbose or --json.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print the recorded heartbeat as JSON (schemaVersion 1).")
    var json = false

    /// `miisserver heartbeat --json` and `check --json` (schema version 1).
    struct ActiveServerReport: Codable {
        var schemaVersion = 1
        var server: String
        var epoch: Int64
        var leaseSeconds: Double
    }

    func run() async throws {
        let installation = try installation.locate()
        let state = try await DeploymentAdministration.heartbeat(installation)
        let server = installation.configuration.serverName
        if json { return try JSONOutput.print(ActiveServerReport(server: server, epoch: state.epoch, leaseSeconds: state.leaseSeconds)) }
        if self.installation.verbose { printLine("Heartbeat recorded for '\(server)' at epoch \(state.epoch).") }
    }
}
