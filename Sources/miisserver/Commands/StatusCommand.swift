import ArgumentParser
import Deployment
import ToolSupport

/// `miisserver status`: the deployment at a glance, like `patronictl list`: one row per server with
/// its state judged now (ACTIVE, STALE, FENCED, STANDBY), then this installation.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the deployment's servers (ACTIVE, STALE, FENCED, STANDBY) and this installation. Never asks for a password.",
        discussion: """
            ACTIVE: the active server, its last heartbeat within the lease. STALE: the active server, but its last \
            heartbeat is older than the lease (a standby may take over). FENCED: a former active server, replaced at \
            a later epoch. STANDBY: never active. The role follows failovers. When the database cannot be reached, \
            this installation's local state is shown and the command exits 29.
            """)

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print the documented JSON document (schemaVersion 1).")
    var json = false

    @Option(name: .customLong("backups"), help: ArgumentHelp("Also show the newest backup of the deployment's key set in DIR (checksum-verified, no password) and whether its generation is current.", valueName: "dir"))
    var backups: String?

    /// `status --json` when the database cannot be reached (schema version 1).
    struct LocalStatusReport: Codable {
        var schemaVersion = 1
        var installation: DeploymentStatusReport.Installation
        var databaseReachable = false
        var databaseError: String
    }

    func run() async throws {
        let installation = try installation.locate()
        var report: DeploymentStatusReport
        do {
            report = try await DeploymentAdministration.status(installation)
        } catch let error as DeploymentError where error.kind == .database {
            let local = DeploymentAdministration.localStatus(installation)
            if json {
                try JSONOutput.print(LocalStatusReport(installation: local, databaseError: error.message))
            } else {
                printLine("Database:        \(local.database): UNREACHABLE")
                printInstallation(local)
            }
            throw error
        }
        if let backups, let d = report.deployment {
            report.newestBackup = KeyLifecycle.newestBackup(in: backups, keySetID: d.keySetID, generation: d.keySetGeneration)
        }
        if json { return try JSONOutput.print(report) }
        let i = report.installation
        printLine("Database:        \(i.database) (schema \(report.database.schemaVersion))")
        if let replication = report.database.replication, replication.mode != .embedded {
            let names = replication.synchronousStandbyNames.map { $0.isEmpty ? "" : ", synchronous_standby_names '\($0)'" } ?? ""
            let standbys = replication.standbys.map { ", \($0) standby server\($0 == 1 ? "" : "s") connected" } ?? ""
            let waitedFor = replication.synchronousStandbys.map { replication.mode == .synchronous ? " (\($0) synchronous)" : "" } ?? ""
            printLine("Replication:     \(replication.mode.rawValue)\(names)\(standbys)\(waitedFor)")
        }
        if let d = report.deployment {
            let verdict = d.activeServerAlive ? "alive" : "STALE, older than the lease: a standby may take over"
            printLine("Active server:   \(d.activeServer) at epoch \(d.epoch), last heartbeat \(formatAge(d.activeHeartbeatAgeSeconds)) (lease \(formatSeconds(d.leaseSeconds))): \(verdict)")
            printLine("Key set:         \(d.keySetID.lowercasedString) generation \(d.keySetGeneration) fingerprint \(d.keySetFingerprint)")
            printLine("Password sync:   \(d.passwordSync.enabled ? "enabled, target \(d.passwordSync.target ?? "-")" : "disabled")")
            if let b = report.newestBackup {
                if let path = b.path, let generation = b.generation {
                    let age = formatAge(b.ageSeconds).replacingOccurrences(of: " ago", with: " old")
                    printLine("Newest backup:   \(path), generation \(generation), \(age): "
                              + (b.current ? "current" : "STALE, the key set is at generation \(d.keySetGeneration): take a new backup"))
                } else {
                    printLine("Newest backup:   none of key set \(d.keySetID.lowercasedString) in \(b.directory)")
                }
            }
        } else {
            printLine("Deployment:      none (no primary set up)")
        }
        printLine("")
        var rows = [["", "SERVER", "ROLE", "STATE", "VERSION", "HEARTBEAT", ""]]
        for s in report.servers {
            var note = ""
            switch s.state {
            case .active, .stale: note = "lease \(formatSeconds(report.deployment?.leaseSeconds ?? 0))"
            case .fenced: note = s.lastActiveEpoch.map { "last active at epoch \($0)" } ?? ""
            case .standby: break
            }
            rows.append([s.isThisServer ? "*" : "", s.name, s.role.rawValue, s.state.rawValue.uppercased(),
                         s.softwareVersion + (s.schemaMatches ? "" : " (schema mismatch)"), formatAge(s.heartbeatAgeSeconds), note])
        }
        TextTable.lines(rows).forEach(printLine)
        printLine("")
        printInstallation(i)
        if let offset = report.database.clockOffsetSeconds, let warning = ClockOffset(seconds: offset).warning {
            printWarning(warning)
        }
        if let warning = report.database.replication?.warning { printWarning(warning) }
        if !report.database.schemaMatches, let needed = report.database.softwareSchemaVersion {
            printWarning(DeploymentAdministration.schemaMismatchAdvice(softwareVersion: i.softwareVersion, needed: needed, database: report.database.schemaVersion,
                                                                       activeServer: report.deployment?.activeServer))
        }
    }

    private func printInstallation(_ i: DeploymentStatusReport.Installation) {
        printLine("This server:     \(i.server) (\(i.softwareVersion)) \(i.state.rawValue.uppercased())")
        printLine("Installation:    \(i.directory)")
        printLine("Activated epoch: \(i.activatedEpoch.map(String.init) ?? "never")")
        printLine("Keys installed:  \(i.keysInstalled ? "yes" : "no")\(i.installedKeySetID.map { " (key set \($0.lowercasedString) generation \(i.installedKeySetGeneration ?? 1))" } ?? "")")
        printLine("Admin group:     \(i.adminGroup) (\(i.adminGroupScope.rawValue))")
        printLine("Service account: \(i.serviceAccount)")
    }
}
