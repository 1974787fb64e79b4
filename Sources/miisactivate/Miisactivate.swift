import Deployment
import DeploymentCommandLine
import KeyFile
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// The `miisactivate` program: gathers what the reference's command line names, asks for what is
/// missing (unless quiet), and hands every decision to ``StandbyActivation``.
///
/// Its command line is the reference's (`/q`, `/?`, positional password), not swift-argument-parser's:
/// ``ActivateCommandLine`` parses it. The miisserver executable runs ``main()`` when it is invoked
/// as `miisactivate` (one binary, two names).
package struct Miisactivate {
    let commandLine: ActivateCommandLine

    package static func main() async -> Never {
        ToolIdentity.name = "miisactivate"
        StandardStreams.prepare()
        ProcessHardening.apply()
        let commandLine: ActivateCommandLine
        do {
            commandLine = try ActivateCommandLine(parsing: StandardStreams.arguments())
        } catch {
            printError("miisactivate: \(error)")
            StandardStreams.exit(ExitCodes.usage)
        }
        Diagnostics.bootstrap(verbose: commandLine.verbose)
        if commandLine.version {
            print(ToolkitRelease.version)
            StandardStreams.exit(ExitCodes.success)
        }
        if commandLine.help {
            print(HelpText.text)
            StandardStreams.exit(ExitCodes.success)
        }
        let output = ActivationOutput(json: commandLine.json, quiet: commandLine.quiet)
        do {
            let report = try await Miisactivate(commandLine: commandLine).run()
            SystemLog.activation(report)
            output.print(report)
            // A dry run exits with the status of its first failed check, after listing them all.
            StandardStreams.exit(output.dryRunFailure(report)?.exitCode ?? ExitCodes.success)
        } catch {
            let failure = ReportedFailure(error, remedies: deploymentRemedies)
            if !commandLine.dryRun, failure.exitCode != ExitCodes.usage {
                SystemLog.send("activation refused (exit \(failure.exitCode)): \(failure.message)", severity: .warning)
            }
            output.printFailure(failure, error: error)
            StandardStreams.exit(failure.exitCode)
        }
    }

    func run() async throws -> ActivationReport {
        // Check 1 comes before anything is read or asked.
        try StandbyActivation.requireAdministrator(effectiveUserID: geteuid())
        let installation = try ServerInstallation.locate(explicit: commandLine.installDirectory)
        let fileName = try commandLine.fileName ?? ask("Key file (including the path): ", missing: "FileName")
        if commandLine.fileName == nil { try StandbyActivation.requirePrintablePath(fileName) }
        // Before anyone types a password: a file that is missing or damaged is said now.
        if commandLine.fileName == nil || commandLine.userName == nil || willPromptForPassword {
            try StandbyActivation.precheckKeyFile(fileName)
        }
        let userName = try commandLine.userName ?? ask("Service account ([Domain\\]UserName): ", missing: "UserName")
        let credentials = Credentials(account: try ServiceAccount(userName), password: try readPassword())

        var options = ActivationRequestOptions(
            keyFilePath: fileName, credentials: credentials, osUser: OperatorIdentity.current(), effectiveUserID: geteuid())
        options.dryRun = commandLine.dryRun
        options.forceReason = commandLine.force ? commandLine.reason : nil
        options.requestedLease = commandLine.lease
        if commandLine.allowWeakKDF { options.kdfPolicy = .allowWeak }

        return try await DeploymentStoreFactory.withStore(location: installation.configuration.database) { store in
            let activation = StandbyActivation(installation: installation, store: store)
            return try await activation.run(options) { plan in confirm(plan, server: installation.configuration.serverName) }
        }
    }

    /// Without `/q`, the switch happens only after the administrator says yes on the terminal.
    private func confirm(_ plan: ActivationPlan, server: String) -> Bool {
        if commandLine.quiet { return true }
        for warning in plan.warnings { printWarning(warning.commandLineText) }
        let age = plan.primaryHeartbeatAge.map { "last heartbeat \(Int($0)) s ago, lease \(Int(plan.lease)) s" } ?? "no heartbeat recorded"
        printError("All checks passed. \(server) will replace \(plan.state.activeServer) (\(age)) as the active server; epoch \(plan.state.epoch) -> \(plan.state.epoch + 1); key file \(plan.keyFilePath).")
        guard TerminalPrompt.standardInputIsTerminal else {
            printError("miisactivate: no terminal to confirm on; run with /q to activate without confirmation")
            return false
        }
        return TerminalPrompt.confirm("Activate \(server) now?")
    }

    private func ask(_ question: String, missing name: String) throws -> String {
        guard !commandLine.quiet else {
            throw ToolFailure(exitCode: ExitCodes.usage, "\(name) is missing and quiet mode (/q) asks nothing; see miisactivate /?")
        }
        guard TerminalPrompt.standardInputIsTerminal, let answer = TerminalPrompt.ask(question), !answer.isEmpty else {
            throw ToolFailure(exitCode: ExitCodes.usage, "\(name) is missing; give it on the command line (see miisactivate /?)")
        }
        return answer
    }

    /// Whether ``readPassword()`` will ask on the terminal.
    private var willPromptForPassword: Bool {
        switch commandLine.password {
        case .missing: return !commandLine.quiet
        case .prompt: return TerminalPrompt.standardInputIsTerminal
        case .literal, .file: return false
        }
    }

    private func readPassword() throws -> Password {
        switch commandLine.password {
        case .literal(let text):
            if !commandLine.quiet {
                printWarning("a password on the command line is visible to other local users in the process list; use * instead")
            }
            return try Password(text)
        case .file(let path):
            return try PasswordSource.file(path).read()
        case .prompt:
            return try (TerminalPrompt.standardInputIsTerminal ? PasswordSource.prompt : PasswordSource.standardInput).read()
        case .missing:
            guard !commandLine.quiet else {
                throw ToolFailure(exitCode: ExitCodes.usage, "the password is missing and quiet mode (/q) asks nothing: give * to read it from standard input")
            }
            return try PasswordSource.prompt.read()
        }
    }
}

extension SystemLog {
    /// An activation, or a forced takeover, as the system log records it; dry runs and "already
    /// active" change nothing and are not logged.
    static func activation(_ report: ActivationReport) {
        guard report.outcome == .activated else { return }
        let replaced = report.previousServer.map { " replacing '\($0)'" } ?? ""
        if let reason = report.forcedReason {
            send("forced takeover: activated '\(report.server)'\(replaced) at epoch \(report.epoch); reason: \(reason)", severity: .warning)
        } else {
            send("activated '\(report.server)'\(replaced) at epoch \(report.epoch)", severity: .notice)
        }
    }
}
