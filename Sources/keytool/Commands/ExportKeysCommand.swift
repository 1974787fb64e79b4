import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool export-keys FILE --format jwk|hex --allow-cleartext-output`: key material in the clear.
struct ExportKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-keys",
        abstract: "Export key material in the clear (JWK set or hex) for migration.",
        discussion: """
        Refused without --allow-cleartext-output. With -o the output is written to a new 0600 \
        file atomically (an existing file is refused unless --force). Without -o it goes to \
        standard output, which must not be a terminal: key material on a screen ends up in \
        scrollback and screen recordings, so a terminal is refused unless --to-terminal is also \
        given.

        jwk: {"keys": [{"kty": "oct", "kid": "1", "alg": "A256GCM", "k": "<base64url>"}]} (RFC 7517; \
        alg A256GCM for AES-256-GCM keys, HS256 for HMAC-SHA-256 keys).
        hex: one line per key: <id> <algorithm> <status> <primary|-> <hex material>.
        """)

    @Argument(help: "The key file.")
    var file: String

    @Option(name: .customLong("format"), help: "jwk or hex.")
    var format: KeyMaterialExport.Format = .jwk

    @Flag(name: .customLong("allow-cleartext-output"), help: "Required: confirm that key material is written in the clear.")
    var allowCleartextOutput = false

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write to this new 0600 file instead of stdout.", valueName: "file"))
    var output: String?

    @Flag(name: .long, help: "Replace an existing output file.")
    var force = false

    @Flag(name: .customLong("to-terminal"), help: "Allow writing key material to a terminal (stdout is a TTY).")
    var toTerminal = false

    @OptionGroup var account: AccountOption
    @OptionGroup var password: PasswordOptions

    @OptionGroup var weak: WeakKDFOption

    func validate() throws {
        guard allowCleartextOutput else {
            throw ValidationError("export-keys writes key material in the clear; add --allow-cleartext-output to confirm")
        }
    }

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        if output == nil, Console.standardOutputIsTerminal, !toTerminal {
            throw ToolFailure(exitCode: ExitCodes.usage,
                              "refusing to print key material to a terminal; use -o FILE, redirect stdout, or add --to-terminal")
        }
        let serviceAccount = try account.serviceAccount()
        let sealed = try KeyFileInput.sealed(file)
        let credentials = Credentials(account: serviceAccount, password: try password.source.read(prompt: "Password for \(serviceAccount): "))
        keytoolLog.debug("opening \(file) for \(serviceAccount); exporting as \(format.rawValue)")
        let opened = try sealed.open(with: credentials, policy: weak.policy)
        let exported = KeyMaterialExport.export(opened.keySet, format: format)
        if let output {
            try VerifiedKeyFileWriter.writeSecret(exported, to: output, replace: force)
            printError("keytool: wrote \(opened.keySet.keys.count) key\(opened.keySet.keys.count == 1 ? "" : "s") in the clear to \(output) (0600); delete it once imported")
        } else {
            try Console.writeRaw(exported)
        }
    }
}
