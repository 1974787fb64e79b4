import ArgumentParser
import Deployment
import ToolSupport

/// `miisserver lease [SECONDS]`: shows or sets the deployment's lease.
struct LeaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease",
        abstract: "Show the deployment's lease, or set it (on the active server only; logged).",
        discussion: """
            The lease is how recent a heartbeat keeps the active server alive: miisactivate refuses to take over \
            a primary whose last heartbeat is younger (exit 26) unless forced with --force --reason. It is a \
            deployment setting in the database, set at setup (--lease, default 30 s) and changed only here, from \
            the active server (a standby or a fenced server is refused with exit 28), so that nobody can shorten \
            it to take over a live primary. Every change is in miisserver history.
            """)

    @OptionGroup var installation: InstallationOptions

    @Argument(help: ArgumentHelp("The new lease in seconds (0.5 to 86400). Without it, the lease is shown.", valueName: "seconds"))
    var seconds: Double?

    @Flag(name: .customLong("json"), help: "Print the deployment row as JSON.")
    var json = false

    func run() async throws {
        let installation = try installation.locate()
        let state = if let seconds {
            try await DeploymentAdministration.setLease(installation, seconds: seconds)
        } else {
            try await DeploymentAdministration.deployment(installation)
        }
        if json { return try JSONOutput.print(LeaseReport(leaseSeconds: state.leaseSeconds, activeServer: state.activeServer, epoch: state.epoch)) }
        printLine(seconds == nil
              ? "Lease: \(formatSeconds(state.leaseSeconds)) (active server \(state.activeServer) at epoch \(state.epoch))."
              : "Lease set to \(formatSeconds(state.leaseSeconds)).")
    }

    /// `miisserver lease --json` (schema version 1).
    struct LeaseReport: Codable {
        var schemaVersion = 1
        var leaseSeconds: Double
        var activeServer: String
        var epoch: Int64
    }
}
