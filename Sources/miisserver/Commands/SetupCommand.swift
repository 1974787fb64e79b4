import ArgumentParser
import Deployment
import DeploymentCommandLine
import Foundation
import KeyFile
import ToolSupport

/// `miisserver setup`: sets this server up as the deployment's primary or a standby.
struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Set up this server as the deployment's primary or a standby.",
        discussion: """
            A primary creates (or migrates) the database schema, generates the key set and installs it at \
            keys/keyset.bin sealed with the service account's credentials, and creates the deployment at epoch 1. \
            A standby registers itself and installs no keys. Both record this binary's software version. To change \
            an existing installation, use miisserver repair; after installing a new release, miisserver upgrade.
            """)

    @Option(name: .customLong("install-dir"), help: ArgumentHelp("The installation directory, when this tool is not in its Bin/ (else MIIS_INSTALL_DIR).", valueName: "dir"))
    var installDir: String?

    @Flag(name: .customLong("repair"), help: .hidden)
    var repair = false

    @Option(name: .customLong("name"), help: "This server's name in the deployment.")
    var name: String?

    @Option(name: .customLong("database"), help: ArgumentHelp("The shared database: a SQLite file path or a postgres:// URL.", valueName: "location"))
    var database: String?

    @Option(name: .customLong("role"), help: "primary or standby.")
    var role: ServerRole?

    @Option(name: .customLong("account"), help: ArgumentHelp("The service account: DOMAIN\\user, \\user or user.", valueName: "account"))
    var account: String?

    @Option(name: .customLong("admin-group"), help: "The administrators' group (a directory group is recommended).")
    var adminGroup: String?

    /// Release 1.2's free version string, gone: refused rather than taken for the tool's own `--version`.
    @Option(name: .customLong("version"), help: .hidden)
    var version: String?

    @OptionGroup var password: PasswordOptions

    @OptionGroup var kdf: KDFOptions

    @OptionGroup var logging: VerboseOption

    @Flag(name: .customLong("json"), help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    /// `miisserver setup --json`: the installation set up.
    struct SetupReport: Codable {
        var schemaVersion = 1
        var server: String
        var role: ServerRole
        var installDirectory: String
        var databaseSchema: Int
        /// A primary: the deployment's epoch (1), its key set and where it is installed.
        var epoch: Int64?
        var keySetID: String?
        var keySetFingerprint: String?
        var installedKeyFile: String?
        /// Also printed on stderr.
        var warnings: [String]
    }

    @Option(name: .customLong("lease"), help: ArgumentHelp(
        "A primary's deployment lease: how recent a heartbeat keeps the active server alive (default 30; change it later with miisserver lease).",
        valueName: "seconds"))
    var lease: Double?

    func validate() throws {
        if version != nil {
            throw ValidationError("--version is gone: \(Self.configuration.commandName ?? "") records this binary's software version (\(SchemaCatalog.currentSoftwareVersion)); after installing a new release run miisserver upgrade")
        }
        if repair {
            throw ValidationError("repairing is its own command now: miisserver repair (same options as setup --repair had)")
        }
        guard name != nil else { throw ValidationError("setup needs --name NAME") }
        guard database != nil else { throw ValidationError("setup needs --database PATH") }
        guard let role else { throw ValidationError("setup needs --role primary or --role standby") }
        guard account != nil else { throw ValidationError("setup needs --account A") }
        if role == .standby, lease != nil { throw ValidationError("--lease is a primary's setting: the deployment's lease is set at the primary's setup") }
        if role == .standby, kdf.isGiven { throw ValidationError("a standby installs no keys: --kdf and its options are a primary's") }
    }

    func run() async throws {
        let directory = try ServerInstallation.directoryForSetup(explicit: installDir)
        guard let name, let database, let role, let account else { return }
        let request = DeploymentAdministration.SetupRequest(
            installDirectory: directory, serverName: name, database: database, role: role,
            serviceAccount: try ServiceAccount(account),
            adminGroup: adminGroup ?? DeploymentAdministration.defaultAdminGroup,
            kdf: kdf.parameters(), kdfPolicy: kdf.policy,
            leaseSeconds: lease ?? DeploymentState.defaultLeaseSeconds)
        if role == .primary { try request.kdf.check(request.kdfPolicy) }
        let secret = role == .primary ? try password.source.read(prompt: "Password for \(request.serviceAccount): ", confirm: true) : nil
        let outcome = try await DeploymentAdministration.setup(request, password: secret)
        for warning in outcome.warnings { printWarning(warning) }
        if json {
            let primary = outcome.keySetID != nil
            return try JSONOutput.print(SetupReport(
                server: name, role: role, installDirectory: outcome.installation.directory, databaseSchema: outcome.databaseSchema,
                epoch: primary ? 1 : nil, keySetID: outcome.keySetID?.lowercasedString, keySetFingerprint: outcome.keySetFingerprint,
                installedKeyFile: primary ? outcome.installation.installedKeyFilePath : nil,
                warnings: outcome.warnings.map(\.commandLineText)))
        }
        if let id = outcome.keySetID, let fingerprint = outcome.keySetFingerprint {
            printLine("Set up '\(name)' as the primary at epoch 1 (database schema \(outcome.databaseSchema)).")
            printLine("Key set \(id.lowercasedString) (fingerprint \(fingerprint)) installed at \(outcome.installation.installedKeyFilePath).")
            printLine("Back it up now: miisserver backup --install-dir \(outcome.installation.directory)")
        } else {
            printLine("Set up '\(name)' as a standby (database schema \(outcome.databaseSchema)).")
        }
    }
}

extension ServerRole: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}
