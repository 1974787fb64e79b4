import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool diff A B`: do two key files hold the same key set?
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare the key sets of two key files.",
        discussion: """
        Without credentials: compares key-set IDs and the public key index (key material is not \
        compared). With --account and a password: opens both files and compares keys by ID and \
        check value, naming every key that differs. B uses A's credentials unless --account-b or \
        --password-file-b/--password-stdin-b are given.

        Exit status: 0 when the key sets are the same, \(ExitCodes.keySetsDiffer) when they differ.
        """)

    @Argument(help: "The first key file.")
    var a: String
    @Argument(help: "The second key file.")
    var b: String

    @Option(name: .customLong("account"), help: ArgumentHelp("Open A (and B) as this service account.", valueName: "account"))
    var account: String?
    @OptionGroup var password: PasswordOptions

    @Option(name: .customLong("account-b"), help: ArgumentHelp("Open B as this service account (default: --account).", valueName: "account"))
    var accountB: String?
    @OptionGroup var passwordB: SecondPasswordOptions

    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    func validate() throws {
        if account == nil, password.passwordFile != nil || password.passwordStdin || accountB != nil || passwordB.isGiven {
            throw ValidationError("credential options need --account")
        }
        if password.passwordStdin, passwordB.passwordStdinB {
            throw ValidationError("A's and B's passwords cannot both come from standard input")
        }
    }

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        if account == nil { try CryptoInitialization.hashOnly() }
        let sealedA = try KeyFileInput.sealed(a)
        let sealedB = try KeyFileInput.sealed(b)
        keytoolLog.debug("comparing \(a) and \(b) \(account == nil ? "by header (no password)" : "by key ID and check value")")
        let comparison: KeySetComparison
        if let account {
            let policy = weak.policy
            let accountA = try ServiceAccount(account)
            let credentialsA = Credentials(account: accountA, password: try password.source.read(prompt: "Password for \(accountA) (A): "))
            let accountBValue = try accountB.map(ServiceAccount.init) ?? accountA
            let credentialsB = passwordB.isGiven
                ? Credentials(account: accountBValue, password: try passwordB.source.read(prompt: "Password for \(accountBValue) (B): "))
                : Credentials(account: accountBValue, password: credentialsA.password)
            comparison = KeySetComparison(pathA: a, try sealedA.open(with: credentialsA, policy: policy),
                                          pathB: b, try sealedB.open(with: credentialsB, policy: policy))
        } else {
            comparison = KeySetComparison(pathA: a, sealedA.header, pathB: b, sealedB.header)
        }
        if json {
            try JSONOutput.print(DiffReport(comparison))
        } else {
            TextTable.lines([
                ["A", a, "key set \(comparison.keySetIDA)", "\(sealedA.header.keys.count) keys"],
                ["B", b, "key set \(comparison.keySetIDB)", "\(sealedB.header.keys.count) keys"],
            ]).forEach(Console.line)
            if comparison.keySetIDA != comparison.keySetIDB { Console.line("key-set IDs differ") }
            for difference in comparison.differences { Console.line("  \(TextTable.pad(difference.kind, 10)) \(difference.detail)") }
            let scope = comparison.materialCompared
                ? "key IDs and check values compared"
                : "key-set IDs and public key index compared; key material not compared without credentials"
            Console.line((comparison.same ? "same key set" : "different key sets") + " (\(scope))")
        }
        if !comparison.same { throw ExitCode(ExitCodes.keySetsDiffer) }
    }
}

/// `keytool diff --json`: the comparison plus its verdict.
struct DiffReport: Encodable {
    let comparison: KeySetComparison
    init(_ comparison: KeySetComparison) { self.comparison = comparison }

    enum CodingKeys: String, CodingKey { case same }

    func encode(to encoder: any Encoder) throws {
        try comparison.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(comparison.same, forKey: .same)
    }
}
