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
        if json {
            emitJSON(report)
            for warning in report.warnings { printWarning(warning.commandLineText) }
            return
        }
        switch report.outcome {
        case .alreadyActive:
            printLine("\(report.server) is already the active server (epoch \(report.epoch)); nothing to do.")
        case .dryRun:
            printLine("Dry run: every check passed; \(report.server) can replace \(report.previousServer ?? "-") at epoch \(report.epoch). Nothing was changed.")
        case .activated:
            printLine("Activated \(report.server) as the primary server.")
            printLine("  previous primary  \(report.previousServer ?? "-")")
            printLine("  new epoch         \(report.epoch)")
            printLine("  key set           \(report.keySetID.lowercasedString)")
            printLine("  keys installed    \(report.keysInstalledAt ?? "-")")
            if let reason = report.forcedReason { printLine("  forced            \(reason)") }
        }
        for warning in report.warnings { printWarning(warning.commandLineText) }
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
