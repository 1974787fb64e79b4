import ArgumentParser
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
        if json { return try printJSON(report) }
        let i = report.installation
        print("This server:     \(i.server) (\(i.softwareVersion)) \(i.state.rawValue.uppercased())")
        print("Installation:    \(i.directory)")
        print("Activated epoch: \(i.activatedEpoch.map(String.init) ?? "never")")
        print("Keys installed:  \(i.keysInstalled ? "yes" : "no")\(i.installedKeySetID.map { " (key set \($0.uuidString))" } ?? "")")
        print("Admin group:     \(i.adminGroup) (\(i.adminGroupScope.rawValue))")
        print("Service account: \(i.serviceAccount)")
        print("Database:        \(i.database) (schema \(report.database.schemaVersion)\(report.database.schemaMatches ? "" : ", MISMATCH: this version needs schema \(report.database.softwareSchemaVersion.map(String.init) ?? "unknown")"))")
        if let d = report.deployment {
            print("Active server:   \(d.activeServer) at epoch \(d.epoch), last heartbeat \(formatAge(d.activeHeartbeatAgeSeconds)) (lease \(formatSeconds(d.leaseSeconds)))")
            print("Key set:         \(d.keySetID.uuidString) fingerprint \(d.keySetFingerprint)")
            print("Password sync:   \(d.passwordSync.enabled ? "enabled, target \(d.passwordSync.target ?? "-")" : "disabled")")
        } else {
            print("Deployment:      none (no primary set up)")
        }
        print("Servers:")
        for s in report.servers {
            print("  \(s.name)  \(s.softwareVersion)  \(s.role.rawValue)  heartbeat \(formatAge(s.heartbeatAgeSeconds))")
        }
        if !report.database.schemaMatches, let needed = report.database.softwareSchemaVersion {
            printWarning(DeploymentAdministration.schemaMismatchAdvice(softwareVersion: i.softwareVersion, needed: needed, database: report.database.schemaVersion))
        }
    }
}
