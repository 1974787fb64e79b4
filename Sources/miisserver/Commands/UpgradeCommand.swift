import ArgumentParser
import Deployment
import DeploymentCommandLine
import ToolSupport

/// `miisserver upgrade`: the service pack, applied to this server after its new binaries are installed.
struct UpgradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Apply a service pack: migrate the database schema (on the active primary) and re-register this server's new version.",
        discussion: """
            Run it after installing a new release's binaries: first on the active primary, which migrates the \
            database schema to this release's in one transaction under the migration lock, then on each standby, \
            which only re-registers its version (a standby still on the old version is refused with \
            Exception: 0x80230443 until it is upgraded). Every server records this binary's version in server.json \
            and in the database, and the database logs it. Only the active primary may migrate the schema: a \
            standby or a fenced server is refused (exit 28) and nothing changes. A re-run is a no-op that says so. \
            --dry-run prints the plan: the schema before and after, the steps, and which servers will be refused \
            until upgraded.
            """)

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("dry-run"), help: "Print the plan; change nothing.")
    var dryRun = false

    @Option(name: .customLong("database"), help: ArgumentHelp(
        "The same deployment's database at another location for this run only (a PostgreSQL role that may alter tables, such as the owner role).",
        valueName: "location"))
    var database: String?

    @Flag(name: .customLong("json"), help: "Print the plan or the outcome as JSON (schemaVersion 1).")
    var json = false

    /// `miisserver upgrade --json` (schema version 1).
    struct UpgradeReport: Encodable {
        var schemaVersion = 1
        var server: String
        var state: InstallationState
        var dryRun: Bool
        /// Whether this run changed anything (always false for a dry run).
        var changed: Bool
        var fromSchema: Int
        var toSchema: Int
        var steps: [DeploymentAdministration.UpgradePlan.Step]
        var previousSoftwareVersion: String
        var softwareVersion: String
        /// Servers refused with Exception: 0x80230443 until they are upgraded too.
        var outdatedServers: [DeploymentAdministration.UpgradePlan.OutdatedServer]
        var warnings: [DeploymentWarning]
    }

    func run() async throws {
        let installation = try installation.locate()
        let outcome = try await DeploymentAdministration.upgrade(installation, database: database, dryRun: dryRun)
        let plan = outcome.plan
        let previous = plan.recordedSoftwareVersion != plan.softwareVersion ? plan.recordedSoftwareVersion : plan.registeredSoftwareVersion
        if json {
            return try JSONOutput.print(UpgradeReport(
                server: plan.server, state: plan.state, dryRun: dryRun, changed: outcome.changed, fromSchema: plan.fromSchema,
                toSchema: plan.toSchema, steps: plan.steps, previousSoftwareVersion: previous, softwareVersion: plan.softwareVersion,
                outdatedServers: plan.outdatedServers, warnings: outcome.warnings), userInfo: deploymentJSONUserInfo)
        }
        for warning in outcome.warnings { printWarning(warning) }
        let schema = plan.migratesSchema ? "database schema \(plan.fromSchema) -> \(plan.toSchema)" : "database schema \(plan.toSchema) (unchanged)"
        let version = previous == plan.softwareVersion ? "software version \(plan.softwareVersion) (unchanged)" : "software version \(previous) -> \(plan.softwareVersion)"
        if dryRun {
            printLine("Upgrade plan for '\(plan.server)' (\(plan.state.rawValue) at epoch \(plan.epoch)):")
            if plan.isNoOp {
                printLine("  nothing to do: already at software version \(plan.softwareVersion), database schema \(plan.toSchema)")
            } else {
                printLine("  \(schema)")
                for step in plan.steps { printLine("    schema \(step.schema) (release \(step.release)): \(step.summary)") }
                printLine("  \(version), in server.json and the database")
            }
        } else if outcome.changed {
            printLine("Upgraded '\(plan.server)': \(schema), \(version).")
        } else {
            printLine("'\(plan.server)' is already upgraded: software version \(plan.softwareVersion), database schema \(plan.toSchema); nothing was changed.")
        }
        if !plan.outdatedServers.isEmpty {
            let names = plan.outdatedServers.map { "\($0.name) (\($0.softwareVersion))" }.joined(separator: ", ")
            printLine("Refused with Exception: 0x80230443 until upgraded to \(plan.softwareVersion): \(names); run miisserver upgrade on each after installing this release.")
        }
        if dryRun { printLine("Dry run: nothing was changed.") }
    }
}
