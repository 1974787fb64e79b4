import ArgumentParser
import Deployment
import DeploymentCommandLine
import KeyFile
import ToolSupport

/// `miisserver repair`: changes an existing installation.
struct RepairCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Change an existing installation: its admin group, service account or database location.",
        discussion: """
            Changes the admin group or the service account (re-sealing the installed key set: needs the current \
            password and the new one, --new-password-file or a prompt) of an existing installation, and records this \
            binary's software version (re-registering the server when it changed; the schema is migrated only by \
            miisserver upgrade on the active primary). --kdf and its options re-seal the key set with new KDF parameters \
            when the account changes; without --account they are refused. --database switches this server to another \
            location of the same deployment's database (e.g. the runtime role of docs/postgresql.md, or the database \
            moved to another host), after checking that it holds this deployment (its key set, an epoch no older) \
            and this server registered; otherwise nothing changes (exit 22 or 29).
            """)

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    /// `miisserver repair --json`: the installation as repaired.
    struct RepairReport: Codable {
        var schemaVersion = 1
        var server: String
        var adminGroup: String
        var serviceAccount: String
        var softwareVersion: String
        var database: String
        /// Also printed on stderr.
        var warnings: [String]
    }

    @Option(name: .customLong("account"), help: ArgumentHelp("The new service account: DOMAIN\\user, \\user or user.", valueName: "account"))
    var account: String?

    @Option(name: .customLong("admin-group"), help: "The new administrators' group (a directory group is recommended).")
    var adminGroup: String?

    @Option(name: .customLong("database"), help: ArgumentHelp("The same deployment's database at another location: a SQLite file path or a postgres:// URL.", valueName: "location"))
    var database: String?

    /// Release 1.2's free version string, gone: refused rather than taken for the tool's own `--version`.
    @Option(name: .customLong("version"), help: .hidden)
    var version: String?

    @OptionGroup var password: PasswordOptions

    @Option(name: .customLong("new-password-file"), help: ArgumentHelp("The new service account's password, from FILE: \(PasswordSource.lineRule).", valueName: "file"))
    var newPasswordFile: String?

    @OptionGroup var kdf: KDFOptions

    func validate() throws {
        if version != nil {
            throw ValidationError("--version is gone: \(Self.configuration.commandName ?? "") records this binary's software version (\(SchemaCatalog.currentSoftwareVersion)); after installing a new release run miisserver upgrade")
        }
        guard adminGroup != nil || account != nil || database != nil else {
            throw ValidationError("repair needs --admin-group NAME, --account A or --database LOCATION")
        }
        if kdf.isGiven, account == nil {
            throw ValidationError("--kdf and its options re-seal the key set, which only --account does")
        }
    }

    func run() async throws {
        let installation = try installation.locate()
        let request = DeploymentAdministration.RepairRequest(
            adminGroup: adminGroup, serviceAccount: try account.map(ServiceAccount.init),
            kdf: kdf.requestedParameters(), kdfPolicy: kdf.policy, database: database)
        var oldPassword: Password?
        var newPassword: Password?
        if let newAccount = request.serviceAccount, request.needsCredentials(for: installation) {
            oldPassword = try password.source.read(prompt: "Current password for \(installation.configuration.serviceAccount): ")
            let newSource: PasswordSource = newPasswordFile.map { .file($0) } ?? .prompt
            newPassword = try newSource.read(prompt: "Password for \(newAccount): ", confirm: true)
        }
        let (updated, warnings) = try await DeploymentAdministration.repair(installation, request, oldPassword: oldPassword, newPassword: newPassword)
        for warning in warnings { printWarning(warning) }
        let c = updated.configuration
        if json {
            return try JSONOutput.print(RepairReport(server: c.serverName, adminGroup: c.adminGroup, serviceAccount: "\(c.serviceAccount)",
                                                     softwareVersion: c.softwareVersion, database: c.database,
                                                     warnings: warnings.map(\.commandLineText)))
        }
        printLine("Repaired '\(c.serverName)': admin group \(c.adminGroup), account \(c.serviceAccount), version \(c.softwareVersion), database \(c.database).")
    }
}
