import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool passwd FILE --account A`: re-protect the same keys with new credentials or KDF.
struct PasswdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Re-protect a key file with a new password, account or KDF parameters; keys unchanged.",
        discussion: """
        The current password comes from --password-file/--password-stdin (or a prompt), the new \
        one from --new-password-file/--new-password-stdin (or a prompt, asked twice); both cannot \
        be standard input. The new file gets today's recommended KDF (or the --kdf options), or \
        keeps the current parameters with --keep-kdf. The old file stays intact until the new one \
        is written, synced, re-opened and verified; then it is replaced atomically.
        """)

    @Argument(help: "The key file.")
    var file: String

    @OptionGroup var account: AccountOption
    @OptionGroup var password: PasswordOptions

    @Option(name: .customLong("new-account"), help: ArgumentHelp("Bind the file to another service account.", valueName: "account"))
    var newAccount: String?

    @OptionGroup var newPassword: NewPasswordOptions
    @OptionGroup var kdf: KDFOptions

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    @Flag(name: .customLong("keep-kdf"), help: "Keep the file's current KDF parameters instead of --kdf and its options.")
    var keepKDF = false

    func validate() throws {
        if password.passwordStdin, newPassword.newPasswordStdin {
            throw ValidationError("the current and the new password cannot both come from standard input; use --new-password-file for one of them")
        }
        if keepKDF { try kdf.refuse(with: "--keep-kdf") }
    }

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        let oldAccount = try account.serviceAccount()
        let targetAccount = try newAccount.map(ServiceAccount.init) ?? oldAccount
        let sealed = try KeyFileInput.sealed(file)
        let parameters = keepKDF ? sealed.header.kdf : kdf.parameters()
        try parameters.check(kdf.policy)
        let oldCredentials = Credentials(account: oldAccount, password: try password.source.read(prompt: "Current password for \(oldAccount): "))
        keytoolLog.debug("opening \(file) with the current credentials (\(sealed.header.kdf))")
        let opened = try sealed.open(with: oldCredentials, policy: kdf.policy)
        let newCredentials = Credentials(
            account: targetAccount, password: try newPassword.source.read(prompt: "New password for \(targetAccount): ", confirm: true))
        let reprotected = try opened.reprotected(account: targetAccount, kdf: parameters, policy: kdf.policy)
        keytoolLog.debug("sealing the key set for \(targetAccount) with \(parameters), writing \(file) atomically and verifying it")
        let written = try VerifiedKeyFileWriter.write(reprotected, credentials: newCredentials, to: file, replace: true, policy: kdf.policy)
        if json {
            return try JSONOutput.print(WrittenKeyFileReport(operation: "re-protected", path: file, keySet: written.keySet, account: targetAccount, kdf: parameters))
        }
        Console.line("re-protected \(file): account \(targetAccount), \(parameters); keys unchanged (fingerprint \(written.keySet.fingerprint))")
    }
}
