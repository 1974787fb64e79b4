import ArgumentParser
import Deployment
import Foundation
import KeyFile
import ToolSupport

/// `keytool backup`: writes a fresh, verified backup of the server's installed key set.
/// (Registered in keytool's root command as `BackupCommand.self`.)
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the installed key set of a server installation to a new key file.",
        discussion: """
            Opens <install>/keys/keyset.bin with the service account's credentials, checks that it is the \
            deployment's current key set (ID and fingerprint), writes it re-protected with a fresh salt and \
            nonce (atomically, mode 0600, never over an existing file) to FILE, by default miiskeys-N.bin \
            in the current directory with the next free N, and re-opens the written file to verify it.
            """)

    @Option(name: .customLong("install-dir"), help: ArgumentHelp("The server installation (else <install>/Bin or MIIS_INSTALL_DIR).", valueName: "dir"))
    var installDir: String?

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The backup file to create (default: ./miiskeys-N.bin).", valueName: "file"))
    var output: String?

    @OptionGroup var password: PasswordOptions

    @OptionGroup var kdf: KDFOptions

    @Flag(name: .customLong("keep-kdf"), help: "Keep the installed file's KDF parameters instead of --kdf's.")
    var keepKDF = false

    func run() throws {
        let installation = try ServerInstallation.locate(explicit: installDir)
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let parameters = keepKDF ? nil : try kdf.parameters()
        let policy = kdf.policy
        let output = self.output
        let outcome = try blockingAwait {
            try await KeyBackup.backup(installation: installation, password: secret, output: output, kdf: parameters, policy: policy)
        }
        printLine("Backed up key set \(outcome.keySetID.uuidString) (\(outcome.keyCount) key\(outcome.keyCount == 1 ? "" : "s"), fingerprint \(outcome.fingerprint)) to \(outcome.path); verified.")
    }
}
