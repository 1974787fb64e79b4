import ArgumentParser
import ToolSupport
import Deployment
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the deployment and this installation's state (ACTIVE, STANDBY, FENCED). Never asks for a password.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print the documented JSON document (schemaVersion 1).")
    var json = false

    func run() async throws {
        let report = try await DeploymentAdministration.status(try installation.locate())
        if json { return try JSONOutput.print(report) }
        let i = report.installation
        printLine("This server:     \(i.server) (\(i.softwareVersion)) \(i.state.rawValue.uppercased())")
        printLine("Installation:    \(i.directory)")
        printLine("Activated epoch: \(i.activatedEpoch.map(String.init) ?? "never")")
        printLine("Keys installed:  \(i.keysInstalled ? "yes" : "no")\(i.installedKeySetID.map { " (key set \($0.uuidString))" } ?? "")")
        printLine("Admin group:     \(i.adminGroup) (\(i.adminGroupScope.rawValue))")
        printLine("Service account: \(i.serviceAccount)")
        printLine("Database:        \(i.database) (schema \(report.database.schemaVersion)\(report.database.schemaMatches ? "" : ", MISMATCH: this version needs schema \(report.database.softwareSchemaVersion.map(String.init) ?? "unknown")"))")
        if let d = report.deployment {
            printLine("Active server:   \(d.activeServer) at epoch \(d.epoch), last heartbeat \(formatAge(d.activeHeartbeatAgeSeconds)) (lease \(formatSeconds(d.leaseSeconds)))")
            printLine("Key set:         \(d.keySetID.uuidString) fingerprint \(d.keySetFingerprint)")
            printLine("Password sync:   \(d.passwordSync.enabled ? "enabled, target \(d.passwordSync.target ?? "-")" : "disabled")")
        } else {
            printLine("Deployment:      none (no primary set up)")
        }
        printLine("Servers:")
        for s in report.servers {
            printLine("  \(s.name)  \(s.softwareVersion)  \(s.role.rawValue)  heartbeat \(formatAge(s.heartbeatAgeSeconds))")
        }
        if !report.database.schemaMatches, let needed = report.database.softwareSchemaVersion {
            printWarning(DeploymentAdministration.schemaMismatchAdvice(softwareVersion: i.softwareVersion, needed: needed, database: report.database.schemaVersion))
        }
    }
}
