#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Deployment
import DeploymentCommandLine
import ErrorReporting
import KeyFile
import ToolSupport

/// Prints an activation's result: aligned human lines, or the versioned JSON report.
struct ActivationOutput {
    let json: Bool
    let quiet: Bool

    /// `--json` on failure: `{"schemaVersion":1,"outcome":"failed","error":{...}}`.
    struct FailureReport: Codable {
        struct Failure: Codable {
            let kind: String
            let message: String
            let exitCode: Int32
        }
        var schemaVersion = 1
        var outcome = "failed"
        let error: Failure
    }

    func print(_ report: ActivationReport) {
        var report = report
        if report.outcome == .activated { report.nextSteps = Self.nextSteps(report) }
        report.checks = report.checks?.map { check in
            var check = check
            check.exitCode = check.failure.map { ReportedFailure($0, remedies: deploymentRemedies).exitCode }
            return check
        }
        if json {
            emitJSON(report)
            for warning in report.warnings { printWarning(warning.commandLineText) }
            if let failure = dryRunFailure(report) { printError("miisactivate: \(failure.message)") }
            return
        }
        if let choice = report.backupChoice { printChoice(choice) }
        switch report.outcome {
        case .alreadyActive:
            printLine("\(report.server) is already the active server (epoch \(report.epoch)); nothing to do.")
        case .dryRun:
            printChecks(report)
        case .activated:
            printLine("Activated \(report.server) as the primary server.")
            printLine("  previous primary  \(report.previousServer ?? "-")")
            printLine("  new epoch         \(report.epoch)")
            printLine("  key set           \(report.keySetID.lowercasedString)")
            if let keyFile = report.plan?.keyFile { printLine("  key file          \(keyFile)") }
            printLine("  keys installed    \(report.keysInstalledAt ?? "-")")
            if let reason = report.forcedReason { printLine("  forced            \(reason)") }
            if let steps = report.nextSteps {
                printLine("Next steps:")
                for (number, step) in steps.enumerated() { printLine("  \(number + 1). \(step)") }
            }
        }
        for warning in report.warnings { printWarning(warning.commandLineText) }
        if let failure = dryRunFailure(report) { printError("miisactivate: \(failure.message)") }
    }

    /// A dry run's first failed check, as the tool reports it (its status is the exit status).
    func dryRunFailure(_ report: ActivationReport) -> ReportedFailure? {
        guard report.outcome == .dryRun, let check = report.checks?.first(where: { $0.status == .failed }), let failure = check.failure else {
            return nil
        }
        let reported = ReportedFailure(failure, remedies: deploymentRemedies)
        return ReportedFailure(exitCode: reported.exitCode, message: "dry run: check \(check.number) failed: \(reported.message)")
    }

    /// The checklist after a switch: the services here, the old primary, a fresh backup off this host.
    static func nextSteps(_ report: ActivationReport) -> [String] {
        let units = "miis-sync.service miis-heartbeat.timer"
        var steps = ["start the service and the heartbeat timer here: systemctl enable --now \(units)"]
        if let previous = report.previousServer {
            steps.append("stop them on the old primary \(previous), if it comes back: systemctl disable --now \(units) (its heartbeat fails there: it is fenced)")
        }
        steps.append("take a fresh backup here: cd /var/backups/miis && miisserver backup --password-file /root/miis.pw")
        steps.append("copy that backup off this host (scp or your backup system): a backup kept only on the primary is lost with it")
        return steps
    }

    private func printChoice(_ choice: BackupChoice) {
        printLine("Backups in \(choice.directory), newest first:")
        let rows = choice.candidates.map { candidate in
            [candidate.verdict.rawValue,
             candidate.createdAt.map { Date(timeIntervalSince1970: Double($0)).formatted(.iso8601) } ?? "-",
             candidate.path, candidate.reason]
        }
        for line in TextTable.lines(rows, indent: "  ") { Swift.print(line) }
        if choice.chosen == nil { printLine("No file in \(choice.directory) can be activated with.") }
    }

    private func printChecks(_ report: ActivationReport) {
        printLine("Dry run of the activation of \(report.server); nothing is changed. Checks:")
        let rows = (report.checks ?? []).map { check in
            let status = switch check.status {
            case .passed: "pass"
            case .failed: "FAIL"
            case .overridden: "forced"
            case .notRun: "not run"
            }
            let detail = check.failure.map { ReportedFailure($0, remedies: deploymentRemedies).message } ?? check.detail
            return [String(check.number), status, "\(check.title): \(detail)"]
        }
        for line in TextTable.lines(rows, indent: "  ") { Swift.print(line) }
        if let plan = report.plan {
            let age = plan.primaryHeartbeatAgeSeconds.map { "last heartbeat \(Int($0)) s ago" } ?? "no heartbeat recorded"
            printLine("Dry run: every check passed. Plan: \(report.server) replaces \(plan.replaces) (\(age), lease \(DeploymentState.formatSeconds(plan.leaseSeconds)) s); epoch \(plan.fromEpoch) -> \(plan.toEpoch); installs \(plan.keyFile) as \(plan.installedAs). Nothing was changed.")
        } else {
            let failed = (report.checks ?? []).filter { $0.status == .failed }.count
            printLine("Dry run: \(failed) check\(failed == 1 ? "" : "s") failed; \(report.server) cannot be activated as it is. Nothing was changed.")
        }
    }

    /// `failure` as one `miisactivate:` line on stderr and, with `--json`, as the failure report.
    /// `kind` is the error's stable code (`fenced`, `corrupted.checksum`), or `usage`.
    func printFailure(_ failure: ReportedFailure, error: any Error) {
        printError("miisactivate: \(failure.message)")
        guard json else { return }
        let kind = (error as? any ReportableError)?.errorCode ?? "usage"
        emitJSON(FailureReport(error: .init(kind: kind, message: failure.message, exitCode: failure.exitCode)))
    }

    private func emitJSON(_ value: some Encodable) {
        // An encoding failure of these plain structs cannot happen; the exit status still tells the outcome.
        try? JSONOutput.print(value, userInfo: deploymentJSONUserInfo)
    }
}
