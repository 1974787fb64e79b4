import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool verify PATH...`: many files at once, in parallel, one line per file plus a summary.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify key files: structure and checksum, or a full open with credentials.",
        discussion: """
        Without --account: size, magic, whole-file checksum, version, strict structure and KDF \
        bounds of every file (headers are not authenticated). With --account and a password: a \
        full authenticated open of every file (header MAC, AES-256-GCM payload, per-key check \
        values). The password is read once.

        Directories contribute the files directly in them; --recursive descends into \
        subdirectories (symbolic links to directories are not followed). Files are checked in \
        parallel on --jobs threads; lines are printed in sorted path order. A progress bar is \
        drawn on stderr when it is a terminal.

        With credentials, the scrypt derivations of all workers share one memory budget \
        (--kdf-memory-budget, default 1GiB): a worker waits until its file's scrypt memory, \
        computed from the header before deriving, fits. The per-file ceiling still refuses a \
        file before deriving.

        Exit status: 0 when all files pass, else the exit code of the most severe failure class \
        (see keytool --help); 15 when no file was found.
        """)

    @OptionGroup var selection: PathSelection

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    @Option(name: .customLong("account"), help: ArgumentHelp("Open every file as this service account (enables the authenticated check).", valueName: "account"))
    var account: String?

    @OptionGroup var password: PasswordOptions

    @OptionGroup var weak: WeakKDFOption

    @Option(name: .shortAndLong, help: "Worker threads (default: the number of active processors).")
    var jobs: Int = OrderedParallelRunner.defaultJobs

    @Flag(name: .shortAndLong, help: "Print only failing files and the summary.")
    var quiet = false

    @Option(name: .customLong("kdf-memory-budget"),
            help: ArgumentHelp("With --account: the memory all workers' password derivations may use at once, e.g. 256MiB or 2GiB (default 1GiB). A file whose KDF alone needs more is refused (exit 14).", valueName: "size"))
    var kdfMemoryBudget: MemorySize = MemorySize(bytes: KDFMemoryBudget.defaultBytes)

    func validate() throws {
        guard (1...1024).contains(jobs) else { throw ValidationError("--jobs must be between 1 and 1024") }
        guard kdfMemoryBudget.bytes >= 1 << 20 else { throw ValidationError("--kdf-memory-budget must be at least 1MiB") }
        if account == nil, password.passwordFile != nil || password.passwordStdin {
            throw ValidationError("a password option needs --account (the service account the files are bound to)")
        }
    }

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        // Without credentials verify only hashes: libcrypto may skip the system configuration.
        if account == nil { try CryptoInitialization.hashOnly() }
        let policy = weak.policy
        let mode: KeyFileVerifier.Mode
        if let account {
            let serviceAccount = try ServiceAccount(account)
            let secret = try password.source.read(prompt: "Password for \(serviceAccount): ")
            mode = .open(credentials: Credentials(account: serviceAccount, password: secret), policy: policy)
        } else {
            mode = .integrity(policy: policy)
        }
        let collected = try selection.collect(verb: "verify")
        keytoolLog.debug("verifying \(collected.count) file(s), \(mode.isAuthenticated ? "authenticated" : "integrity only")")
        let verifier = KeyFileVerifier(mode: mode, jobs: jobs, kdfBudget: KDFMemoryBudget(totalBytes: kdfMemoryBudget.bytes))
        let progress = ProgressBar(total: collected.count)
        let encoder = JSONOutput.encoder(pretty: false)
        let modeName = mode.isAuthenticated ? "authenticated" : "integrity"
        if json { JSONOutput.printLine("{\"schemaVersion\":\(KeyFileReportSchema.currentSchemaVersion),\"mode\":\"\(modeName)\",\"results\":[") }
        var done = 0
        let summary = verifier.verify(collected) { result in
            done += 1
            if json || !quiet || !result.passed { progress.erase() }
            if json {
                let data = (try? encoder.encode(VerificationReport(result))) ?? Data("{}".utf8)
                JSONOutput.printLine(String(decoding: data, as: UTF8.self) + (done < collected.count ? "," : ""))
            } else if !quiet || !result.passed {
                var line = TextTable.pad(result.status, 17) + " " + result.path
                if let error = result.error { line += "  (\(error.code)) \(error.message)" }
                Console.line(line)
            }
            progress.update(done)
        }
        progress.finish()
        if json {
            let data = try encoder.encode(VerificationSummaryReport(summary))
            JSONOutput.printLine("],\"summary\":" + String(decoding: data, as: UTF8.self) + "}")
        } else {
            var parts = ["\(summary.passed) ok"]
            for category in KeyFileError.Category.allCases.sorted(by: { $0.severity > $1.severity }) {
                if let count = summary.failures[category] { parts.append("\(count) \(VerificationSummary.label(for: category))") }
            }
            let scope = mode.isAuthenticated
                ? "authenticated: header MAC, payload and key check values"
                : "integrity only: checksum and structure; headers are not authenticated without the password"
            Console.line("\(summary.total) file\(summary.total == 1 ? "" : "s"): \(parts.joined(separator: ", ")) (\(scope))")
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A byte count given as `N`, `NKiB`, `NMiB` or `NGiB` (`K`, `M`, `G` and lower case too).
struct MemorySize: ExpressibleByArgument {
    let bytes: UInt64

    init(bytes: UInt64) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.lowercased()
        let digits = text.prefix(while: \.isASCII).prefix(while: \.isNumber)
        let units: [String: UInt64] = ["": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30]
        guard !digits.isEmpty, let value = UInt64(digits), let unit = units[String(text.dropFirst(digits.count))] else { return nil }
        let (product, overflow) = value.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        bytes = product
    }

    var defaultValueDescription: String { bytes % (1 << 30) == 0 ? "\(bytes >> 30)GiB" : "\(bytes >> 20)MiB" }
}
