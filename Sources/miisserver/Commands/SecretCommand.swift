import ArgumentParser
import Deployment
import Foundation
import KeyFile
import ToolSupport

struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Store and list the deployment's secrets (encrypted under the installed key set).",
        subcommands: [SecretSetCommand.self, SecretListCommand.self])
}

struct SecretSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Store secret NAME; its value is read from standard input (one trailing newline is dropped).")

    @OptionGroup var installation: InstallationOptions

    @Argument(help: "The secret's name (letters, digits, . _ - / @ :).")
    var name: String

    @Option(name: .customLong("password-file"), help: ArgumentHelp("The service account's password, from FILE: \(PasswordSource.lineRule) (else a prompt).", valueName: "file"))
    var passwordFile: String?

    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .customLong("json"), help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    /// `miisserver secret set --json`: the name stored and the key it is encrypted under (never the value).
    struct StoredReport: Codable {
        var schemaVersion = 1
        var name: String
        var keyID: UInt32
    }

    func run() async throws {
        let installation = try installation.locate()
        try SecretCipher.validate(name: name)
        let value = try Self.readValue()
        let source: PasswordSource = passwordFile.map { .file($0) } ?? .prompt
        let password = try source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let stored = try await DeploymentAdministration.setSecret(installation, name: name, value: value, password: password,
                                                                    policy: weak.policy)
        if json { return try JSONOutput.print(StoredReport(name: stored.name, keyID: stored.keyID.rawValue)) }
        printLine("Stored secret '\(stored.name)' under key \(stored.keyID).")
    }

    /// The value: on a terminal, typed twice without echo (it is a secret, like a password);
    /// else standard input into wiped memory, without one trailing "\n" or "\r\n".
    static func readValue() throws -> SecureBytes {
        if TerminalPrompt.standardInputIsTerminal {
            let first = try TerminalPrompt.readSecret("Secret value: ", limit: SecretCipher.maximumValueSize, value: "secret value")
            let second = try TerminalPrompt.readSecret("Repeat the secret value: ", limit: SecretCipher.maximumValueSize, value: "secret value")
            guard first == second else { throw KeyFileError.invalidInput("secret-mismatch", "the two secret values differ") }
            return try trimmed(first)
        }
        guard let data = StandardStreams.readInput(limit: SecretCipher.maximumValueSize + 2) else {
            throw KeyFileError.invalidInput("secret-value", "the secret value is larger than \(SecretCipher.maximumValueSize) bytes")
        }
        return try trimmed(data)
    }

    /// `data` without one trailing "\n" or "\r\n", checked against the size limits.
    private static func trimmed(_ data: SecureBytes) throws -> SecureBytes {
        try data.withUnsafeBytes { raw in
            var count = raw.count
            if count > 0, raw[count - 1] == 0x0A { count -= 1; if count > 0, raw[count - 1] == 0x0D { count -= 1 } }
            // Invalid input (16) with the tool's one-line message, not ArgumentParser's usage text.
            guard count > 0 else { throw KeyFileError.invalidInput("secret-value", "no secret value on standard input") }
            guard count <= SecretCipher.maximumValueSize else {
                throw KeyFileError.invalidInput("secret-value", "the secret value is larger than \(SecretCipher.maximumValueSize) bytes")
            }
            return SecureBytes(count: count) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
        }
    }
}

struct SecretListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the secrets' names and key IDs (never their values), and which need re-entry.")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    struct Listing: Codable {
        struct Entry: Codable {
            var name: String
            var keyID: UInt32
            /// After `keys abandon`: no key decrypts it until `secret set` enters it again.
            var needsReentry: Bool
        }
        var schemaVersion = 1
        var secrets: [Entry]
    }

    func run() async throws {
        let secrets = try await DeploymentAdministration.secrets(try installation.locate())
        if json { return try JSONOutput.print(Listing(secrets: secrets.map { .init(name: $0.name, keyID: $0.keyID.rawValue, needsReentry: $0.needsReentry) })) }
        if secrets.isEmpty { printLine("No secrets.") }
        for secret in secrets {
            printLine("\(secret.name)  key \(secret.keyID)" + (secret.needsReentry ? "  NEEDS RE-ENTRY (miisserver secret set \(secret.name))" : ""))
        }
    }
}
