import ArgumentParser
import Logging
import KeyFile
import ToolSupport

/// `keytool audit PATH...`: an auditor's policy report, without a password.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit key files against policy without the password.",
        discussion: """
        Checks KDF strength against the floor and today's recommended defaults (scrypt \
        N=2^17 r=8 p=1, PBKDF2 600,000 iterations), the cipher, the backup's age (--max-age), \
        file permissions and ownership (group/world access is a finding), and the integrity of \
        the file. Header authenticity cannot be established without the password; every file \
        carries that as an info finding. Severities: info, low, medium, high.

        Exit status: \(ExitCodes.auditFindings) when any finding is at or above --fail-on (default: high), else 0.
        """)

    @OptionGroup var selection: PathSelection

    @Flag(name: .long, help: "Print a JSON report (schemaVersion 1) instead of text.")
    var json = false

    @Option(name: .customLong("max-age"), help: ArgumentHelp("Flag backups older than DAYS (by their header's creation time).", valueName: "days"))
    var maxAge: Int?

    @Option(name: .customLong("fail-on"), help: "Exit \(ExitCodes.auditFindings) when a finding is at or above this severity: info, low, medium or high.")
    var failOn: AuditSeverity = .high

    func validate() throws {
        if let maxAge, maxAge < 0 { throw ValidationError("--max-age must not be negative") }
    }

    @OptionGroup var logging: VerboseOption

    func run() throws {
        keytoolLog.debug("keytool \(Self.configuration.commandName ?? "")")
        try CryptoInitialization.hashOnly()
        let collected = try selection.collect(verb: "audit")
        keytoolLog.debug("auditing \(collected.count) file(s), failing on \(failOn) and above")
        let auditor = KeyFileAuditor(maxAgeDays: maxAge)
        var files: [FileAuditReport] = []
        files.reserveCapacity(collected.count)
        OrderedParallelRunner.run(count: collected.count, work: { index in
            let entry = collected[index]
            if let problem = entry.problem {
                return FileAuditReport(path: entry.path, findings: [AuditFinding("file.unreadable", .high, problem.message)])
            }
            return Self.withRemedies(auditor.audit(entry.path))
        }, emit: { _, report in files.append(report) })
        let report = AuditReport(files: files, failOn: failOn, maxAgeDays: maxAge)
        if json {
            try JSONOutput.print(report)
        } else {
            for file in files {
                var facts: [String] = []
                if let header = file.header {
                    facts.append("key set \(header.keySetID)")
                    facts.append("created \(header.createdAt)")
                    facts.append(header.kdf.algorithm == "scrypt" ? "scrypt 2^\(header.kdf.logN ?? 0)/\(header.kdf.r ?? 0)/\(header.kdf.p ?? 0)" : "pbkdf2 \(header.kdf.iterations ?? 0)")
                    facts.append(header.cipher)
                }
                if let mode = file.mode { facts.append("mode \(mode)") }
                if let uid = file.ownerUID { facts.append("owner \(file.ownerName ?? "uid \(uid)")") }
                Console.line("\(file.path)" + (facts.isEmpty ? "" : "  (\(facts.joined(separator: ", ")))"))
                TextTable.lines(file.findings.map { [$0.severity.description, $0.id, $0.message] }, indent: "  ").forEach(Console.line)
            }
            let counts = AuditSeverity.allCases.reversed().map { "\(report.counts[$0.description] ?? 0) \($0)" }
            Console.line("\(files.count) file\(files.count == 1 ? "" : "s") audited: \(counts.joined(separator: ", ")); "
                + (report.failed ? "FAIL: findings at or above \(failOn)" : "pass: no finding at or above \(failOn)")
                + " (header authenticity not verified without the password)")
        }
        if report.failed { throw ExitCode(ExitCodes.auditFindings) }
    }

    /// The auditor names what is wrong; keytool adds the command that fixes it.
    static func withRemedies(_ report: FileAuditReport) -> FileAuditReport {
        var report = report
        for index in report.findings.indices where report.findings[index].id == "kdf.below-floor" {
            report.findings[index].message += " (keytool passwd)"
        }
        return report
    }
}
