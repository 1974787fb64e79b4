import ArgumentParser
import ToolSupport
import Deployment

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the activation log, oldest first.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    struct History: Codable {
        var schemaVersion = 1
        var entries: [ActivationLogEntry]
    }

    func run() async throws {
        let entries = try await DeploymentAdministration.history(try installation.locate())
        if json { return try JSONOutput.print(History(entries: entries)) }
        if entries.isEmpty { printLine("No activations recorded.") }
        for e in entries {
            var line = "\(e.time.iso8601)  \(e.outcome.rawValue)  \(e.server)  epoch \(e.epoch)  from \(e.previousServer ?? "-")  by \(e.osUser)"
            if let lease = e.leaseSeconds {
                line += "  lease \(formatSeconds(lease)), previous heartbeat \(formatAge(e.previousHeartbeatAgeSeconds))"
            }
            if e.forced { line += "  FORCED" }
            if !e.detail.isEmpty { line += "  \(e.detail)" }
            printLine(line)
        }
    }
}
