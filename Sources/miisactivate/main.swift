import Deployment
import Foundation
import KeyFile
import ToolSupport

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
if commandLine.help {
    print(HelpText.text)
    StandardStreams.exit(0)
}

do {
    let report = try await Miisactivate(commandLine: commandLine).run()
    ActivationOutput(json: commandLine.json, quiet: commandLine.quiet).print(report)
    StandardStreams.exit(0)
} catch {
    let (code, message) = exitStatus(for: error)
    ActivationOutput(json: commandLine.json, quiet: commandLine.quiet).printFailure(message: message, exitCode: code, error: error)
    StandardStreams.exit(code)
}
