import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool list FILE --account A`: the decrypted key list, without key material.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the keys of a key file (opened with credentials), without key material.",
        discussion: "Shows each key's ID, algorithm, status, creation time, primary flag and check value, and the key-set fingerprint.")

    @Argument(help: "The key file.")
    var file: String

    @OptionGroup var account: AccountOption
    @OptionGroup var password: PasswordOptions

    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        let serviceAccount = try account.serviceAccount()
        let sealed = try KeyFileInput.sealed(file)
        let credentials = Credentials(account: serviceAccount, password: try password.source.read(prompt: "Password for \(serviceAccount): "))
        keytoolLog.debug("opening \(file) for \(serviceAccount) (\(sealed.header.kdf)): header MAC, payload, check values")
        let opened = try sealed.open(with: credentials, policy: weak.policy)
        let report = KeyListReport(path: file, file: opened)
        if json { return try JSONOutput.print(report) }
        TextTable.lines([
            ["key set", report.keySetID],
            ["fingerprint", report.fingerprint],
            ["authenticated", "yes (header MAC, payload and check values verified)"],
        ]).forEach(Console.line)
        let rows = [["ID", "ALGORITHM", "STATUS", "CREATED", "PRIMARY", "CHECK VALUE"]] + report.keys.map {
            ["\($0.id)", $0.algorithm, $0.status, $0.createdAt, $0.primary ? "yes" : "no", $0.checkValue ?? ""]
        }
        TextTable.lines(rows, indent: "  ").forEach(Console.line)
    }
}
