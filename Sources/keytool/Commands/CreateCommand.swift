import ArgumentParser
import Logging
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KeyFile
import ToolSupport

/// `keytool create -o FILE --account A`: a fresh random key set in a new key file.
struct CreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a key file holding a fresh random key set.",
        discussion: """
        The new password is asked twice on a terminal. The file is written 0600 atomically (a \
        synced temporary file, re-opened and verified, then linked into place) and an existing \
        file is refused unless --force is given.
        """)

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The key file to create.", valueName: "file"))
    var output: String

    @OptionGroup var account: AccountOption

    @Option(name: .customLong("server"), help: ArgumentHelp("The source server recorded in the header (default: this host's name).", valueName: "name"))
    var server: String?

    @Option(name: .customLong("keys"), help: "Number of keys, 1 to 65535 (default 1; else exit 16); key 1 is the primary.")
    var keys: Int = 1

    @Option(name: .customLong("algorithm"), help: "Key algorithm: aes-256-gcm or hmac-sha-256.")
    var algorithm: KeyAlgorithm = .aes256GCM

    @Option(name: .customLong("comment"), help: "A free-text note stored in the header (not secret).")
    var comment: String?

    @OptionGroup var kdf: KDFOptions
    @OptionGroup var password: PasswordOptions

    @Flag(name: .long, help: "Replace an existing file.")
    var force = false

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        // The writer's codes (format section 8), before the password is asked for: a key count
        // is invalidInput.key-count (16), KDF parameters parametersOutOfBounds.* (14).
        try KeySet.checkKeyCount(keys)
        let serviceAccount = try account.serviceAccount()
        let parameters = kdf.parameters()
        try parameters.check(kdf.policy)
        if !force { try VerifiedKeyFileWriter.refuseExisting(output) }
        let secret = try password.source.read(prompt: "New password for \(serviceAccount): ", confirm: true)
        let credentials = Credentials(account: serviceAccount, password: secret)
        let keySet = try KeySet.generate(count: keys, algorithm: algorithm)
        let sourceServer = server ?? ProcessInfo.processInfo.hostName
        let file = try KeyFile(keySet: keySet, account: serviceAccount, sourceServer: sourceServer,
                               kdf: parameters, policy: kdf.policy, comment: comment)
        keytoolLog.debug("writing \(output) atomically (\(parameters)) and re-opening it to verify")
        let written = try VerifiedKeyFileWriter.write(file, credentials: credentials, to: output, replace: force, policy: kdf.policy)
        if json {
            return try JSONOutput.print(WrittenKeyFileReport(operation: "created", path: output, keySet: written.keySet, account: serviceAccount, kdf: parameters))
        }
        Console.line("created \(output): key set \(written.keySet.id.lowercasedString), \(keys) key\(keys == 1 ? "" : "s"), account \(serviceAccount), \(parameters)")
        Console.line("verified: re-opened from disk with the new credentials (fingerprint \(written.keySet.fingerprint))")
    }
}
