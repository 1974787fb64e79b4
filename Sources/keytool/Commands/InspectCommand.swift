import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool inspect FILE [--json]`: the plaintext header, no password needed.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a key file's header without the password.",
        discussion: """
        Shows the format version, key-set ID and generation, creation time, source server, account, KDF and its \
        parameters, cipher, the public key index and whether the whole-file checksum holds. The \
        header is NOT authenticated without the password: the checksum detects corruption, not \
        forgery. Exits 10 when the checksum does not hold (after showing what the file claims).
        """)

    @Argument(help: "The key file.")
    var file: String

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        try CryptoInitialization.hashOnly()
        keytoolLog.debug("reading \(file) (header and whole-file checksum; no password)")
        let bytes = try SecureFile.read(file)
        let (sealed, checksumHolds) = try SealedKeyFile.inspect(bytes: bytes)
        let report = InspectReport(path: file, fileSize: bytes.count, checksumValid: checksumHolds, header: sealed.header)
        if json {
            try JSONOutput.print(report)
        } else {
            let header = sealed.header
            var rows: [[String]] = [
                ["file", "\(file) (\(bytes.count) bytes)"],
                ["checksum", checksumHolds ? "ok (whole-file SHA-256)" : "MISMATCH: the file is corrupted"],
                ["format version", report.header.formatVersion],
                ["key set", report.header.keySetID],
                ["generation", "\(report.header.generation)"],
                ["created", report.header.createdAt],
                ["source server", header.sourceServer],
                ["account", header.account.canonical],
                ["kdf", Console.kdfDescription(header.kdf)],
                ["cipher", header.cipherName],
            ]
            if let comment = header.comment { rows.append(["comment", comment]) }
            rows.append(["keys", "\(header.keys.count)"])
            TextTable.lines(rows).forEach(Console.line)
            let keyRows = [["ID", "ALGORITHM", "STATUS", "CREATED", "PRIMARY"]] + report.header.keys.map {
                ["\($0.id)", $0.algorithm, $0.status, $0.createdAt, $0.primary ? "yes" : "no"]
            }
            TextTable.lines(keyRows, indent: "  ").forEach(Console.line)
            Console.line("note: the header is not authenticated without the password (checksummed only); use verify or list with credentials to authenticate it")
        }
        if !checksumHolds { throw KeyFileError.checksumMismatchForTools() }
    }
}

extension KeyFileError {
    /// The checksum failure as the tools report it after showing a damaged file.
    static func checksumMismatchForTools() -> KeyFileError {
        KeyFileError(.corrupted, code: "checksum", "the key file is corrupted: its whole-file SHA-256 checksum does not match; restore it from another backup")
    }
}
