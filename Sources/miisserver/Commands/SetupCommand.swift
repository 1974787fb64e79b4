import ArgumentParser
import Deployment
import Foundation
import KeyFile
import ToolSupport

struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Set up this server as the deployment's primary or a standby, or repair an installation.",
        discussion: """
            A primary creates (or migrates) the database schema, generates the key set and installs it at \
            keys/keyset.bin sealed with the service account's credentials, and creates the deployment at epoch 1. \
            A standby registers itself and installs no keys. With --repair, changes the admin group, the service \
            account (re-sealing the installed key set: needs the current password and --new-password-file) or the \
            software version of an existing installation.
            """)

    @Option(name: .customLong("install-dir"), help: ArgumentHelp("The installation directory (else MIIS_INSTALL_DIR).", valueName: "dir"))
    var installDir: String?

    @Flag(name: .customLong("repair"), help: "Repair mode: change an existing installation.")
    var repair = false

    @Option(name: .customLong("name"), help: "This server's name in the deployment.")
    var name: String?

    @Option(name: .customLong("database"), help: ArgumentHelp("The shared database: a SQLite file path.", valueName: "path"))
    var database: String?

    @Option(name: .customLong("role"), help: "primary or standby.")
    var role: String?

    @Option(name: .customLong("account"), help: ArgumentHelp("The service account: DOMAIN\\user, \\user or user.", valueName: "account"))
    var account: String?

    @Option(name: .customLong("admin-group"), help: "The administrators' group (a directory group is recommended).")
    var adminGroup: String?

    @Option(name: .customLong("version"), help: "This server's software version (default \(SchemaCatalog.currentSoftwareVersion)).")
    var version: String?

    @OptionGroup var password: PasswordOptions

    @Option(name: .customLong("new-password-file"), help: ArgumentHelp("Repair: the new service account's password, first line of FILE.", valueName: "file"))
    var newPasswordFile: String?

    @OptionGroup var kdf: KDFOptions

    @Option(name: .customLong("lease"), help: ArgumentHelp(
        "A primary's deployment lease: how recent a heartbeat keeps the active server alive (default 30; change it later with miisserver lease).",
        valueName: "seconds"))
    var lease: Double?

    func run() async throws {
        if repair { try await runRepair() } else { try await runSetup() }
    }

    private func runSetup() async throws {
        guard let directory = installDir ?? ProcessInfo.processInfo.environment[ServerInstallation.environmentVariable], !directory.isEmpty else {
            throw ValidationError("setup needs --install-dir DIR (or MIIS_INSTALL_DIR)")
        }
        guard let name else { throw ValidationError("setup needs --name NAME") }
        guard let database else { throw ValidationError("setup needs --database PATH") }
        guard let roleText = role, let role = ServerRole(rawValue: roleText.lowercased()) else {
            throw ValidationError("setup needs --role primary or --role standby")
        }
        guard let account else { throw ValidationError("setup needs --account A") }
        let request = DeploymentAdministration.SetupRequest(
            installDirectory: directory, serverName: name, database: database, role: role,
            serviceAccount: try ServiceAccount(account),
            adminGroup: adminGroup ?? DeploymentAdministration.defaultAdminGroup,
            softwareVersion: version ?? SchemaCatalog.currentSoftwareVersion,
            kdf: try kdf.parameters(), kdfPolicy: kdf.policy,
            leaseSeconds: lease ?? DeploymentState.defaultLeaseSeconds)
        if role == .standby, lease != nil { throw ValidationError("--lease is a primary's setting: the deployment's lease is set at the primary's setup") }
        if role == .primary { try request.kdf.check(request.kdfPolicy) }
        let secret = role == .primary ? try password.source.read(prompt: "Password for \(request.serviceAccount): ", confirm: true) : nil
        let outcome = try await DeploymentAdministration.setup(request, password: secret)
        for warning in outcome.warnings { printWarning(warning) }
        if let id = outcome.keySetID, let fingerprint = outcome.keySetFingerprint {
            printLine("Set up '\(name)' as the primary at epoch 1 (database schema \(outcome.databaseSchema)).")
            printLine("Key set \(id.uuidString) (fingerprint \(fingerprint)) installed at \(outcome.installation.installedKeyFilePath).")
            printLine("Back it up now: keytool backup --install-dir \(outcome.installation.directory)")
        } else {
            printLine("Set up '\(name)' as a standby (database schema \(outcome.databaseSchema)).")
        }
    }

    private func runRepair() async throws {
        let installation = try ServerInstallation.locate(explicit: installDir)
        if name != nil || database != nil || role != nil || lease != nil {
            throw ValidationError("--repair changes only --admin-group, --account and --version")
        }
        guard adminGroup != nil || account != nil || version != nil else {
            throw ValidationError("--repair needs --admin-group NAME, --account A or --version V")
        }
        let request = DeploymentAdministration.RepairRequest(
            adminGroup: adminGroup, serviceAccount: try account.map(ServiceAccount.init),
            softwareVersion: version, kdf: kdf.kdf == "scrypt" && kdf.scryptLogN == 17 ? nil : try kdf.parameters(), kdfPolicy: kdf.policy)
        var oldPassword: Password?
        var newPassword: Password?
        if request.needsCredentials(for: installation) {
            oldPassword = try password.source.read(prompt: "Current password for \(installation.configuration.serviceAccount): ")
            let newSource: PasswordSource = newPasswordFile.map { .file($0) } ?? .prompt
            newPassword = try newSource.read(prompt: "Password for \(request.serviceAccount!): ", confirm: true)
        }
        let (updated, warnings) = try await DeploymentAdministration.repair(installation, request, oldPassword: oldPassword, newPassword: newPassword)
        for warning in warnings { printWarning(warning) }
        let c = updated.configuration
        printLine("Repaired '\(c.serverName)': admin group \(c.adminGroup), account \(c.serviceAccount), version \(c.softwareVersion).")
    }
}
