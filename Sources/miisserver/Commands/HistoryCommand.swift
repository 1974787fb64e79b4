import ArgumentParser
import ToolSupport
import Deployment

struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Show the activation log (or with --keys the key set's history), oldest first.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("keys"), help: "Show the key set's history instead: generation, ID, fingerprint, when, by whom, why.")
    var keys = false

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    struct History: Codable {
        var schemaVersion = 1
        var entries: [ActivationLogEntry]
    }

    struct KeyHistory: Codable {
        var schemaVersion = 1
        var entries: [KeySetHistoryEntry]
    }

    func run() async throws {
        if keys { return try await runKeys() }
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

    private func runKeys() async throws {
        let entries = try await KeyLifecycle.history(try installation.locate())
        if json { return try JSONOutput.print(KeyHistory(entries: entries)) }
        if entries.isEmpty { printLine("No key-set history recorded.") }
        for e in entries {
            printLine("\(e.time.iso8601)  generation \(e.generation)  \(e.reason.rawValue)  key set \(e.keySetID.lowercasedString)  fingerprint \(e.fingerprint)  on \(e.server)  by \(e.osUser)  \(e.detail)")
        }
    }
}
