import ArgumentParser
import ToolSupport
import Deployment

struct PasswordSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "password-sync",
        abstract: "Enable password synchronization towards a server (--enable --target NAME) or disable it.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("enable"), help: "Enable password synchronization.")
    var enable = false

    @Flag(name: .customLong("disable"), help: "Disable password synchronization.")
    var disable = false

    @Flag(name: .customLong("json"), help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    /// `miisserver password-sync --json`: the setting now in force.
    struct PasswordSyncReport: Codable {
        var schemaVersion = 1
        var enabled: Bool
        /// The registered name (as stored), whatever case was typed.
        var target: String?
    }

    @Option(name: .customLong("target"), help: "The registered server that receives password changes.")
    var target: String?

    func validate() throws {
        guard enable != disable else { throw ValidationError("use exactly one of --enable or --disable") }
        if enable, target == nil { throw ValidationError("--enable needs --target NAME") }
        if disable, target != nil { throw ValidationError("--disable takes no --target") }
    }

    func run() async throws {
        let state = try await DeploymentAdministration.setPasswordSync(try installation.locate(), enabled: enable, target: target)
        if json { return try JSONOutput.print(PasswordSyncReport(enabled: state.passwordSyncEnabled, target: state.passwordSyncTarget)) }
        printLine(state.passwordSyncEnabled ? "Password synchronization enabled, target \(state.passwordSyncTarget ?? "-")." : "Password synchronization disabled.")
    }
}
