import ArgumentParser
import Deployment
import KeyFile
import ToolSupport

/// `miisserver backup`: writes a fresh, verified backup of the server's installed key set.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the installed key set of a server installation to a new key file.",
        discussion: """
            Opens <install>/keys/keyset.bin with the service account's credentials, checks that it is the \
            deployment's current key set (ID and fingerprint), writes it re-protected with a fresh salt and \
            nonce (atomically, mode 0600, never over an existing file) to FILE, by default miiskeys-N.bin \
            in the current directory with N one more than the highest there (a number freed by a cleanup is never reused: the highest N is the newest), and re-opens the written file to verify it.
            """)

    @OptionGroup var installation: InstallationOptions

    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("The backup file to create (default: ./miiskeys-N.bin).", valueName: "file"))
    var output: String?

    @OptionGroup var password: PasswordOptions

    @OptionGroup var kdf: KDFOptions

    @Flag(name: .customLong("keep-kdf"), help: "Keep the installed file's KDF parameters instead of --kdf's.")
    var keepKDF = false

    @Flag(name: .customLong("json"), help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    /// `miisserver backup --json`: the backup written and verified.
    struct BackupReport: Codable {
        var schemaVersion = 1
        var path: String
        var keySetID: String
        var fingerprint: String
        var keyCount: Int
        /// Always true: a backup that does not re-open is not reported, the command fails.
        var verified = true
    }

    func validate() throws {
        if keepKDF { try kdf.refuse(with: "--keep-kdf") }
    }

    func run() async throws {
        let installation = try installation.locate()
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let parameters = keepKDF ? nil : kdf.parameters()
        let outcome = try await KeyBackup.backup(installation: installation, password: secret, output: output, kdf: parameters, policy: kdf.policy)
        if json {
            return try JSONOutput.print(BackupReport(path: outcome.path, keySetID: outcome.keySetID.lowercasedString,
                                                     fingerprint: outcome.fingerprint, keyCount: outcome.keyCount))
        }
        printLine("Backed up key set \(outcome.keySetID.lowercasedString) (\(outcome.keyCount) key\(outcome.keyCount == 1 ? "" : "s"), fingerprint \(outcome.fingerprint)) to \(outcome.path); verified.")
    }
}
