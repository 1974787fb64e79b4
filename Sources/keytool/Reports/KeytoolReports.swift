import KeyFile
import ToolSupport

// The JSON reports of keytool's commands (`--json`), versioned by `KeyFileReportSchema`.

/// `keytool inspect --json`: what a file claims, readable without the password.
struct InspectReport: Codable, Sendable {
    var schemaVersion = KeyFileReportSchema.currentSchemaVersion
    var path: String
    var fileSize: Int
    /// Whether the whole-file SHA-256 checksum holds (corruption check, not authentication).
    var checksumValid: Bool
    /// Always false: the header is authenticated only by the password-derived MAC.
    var headerAuthenticated = false
    var note = "the header is not authenticated without the password; anyone able to write the file could have rewritten it together with its checksum"
    var header: HeaderReport

    init(path: String, fileSize: Int, checksumValid: Bool, header: KeyFileHeader) {
        self.path = path
        self.fileSize = fileSize
        self.checksumValid = checksumValid
        self.header = HeaderReport(header)
    }
}

/// `keytool list --json`: the decrypted key list, without key material.
struct KeyListReport: Codable, Sendable {
    var schemaVersion = KeyFileReportSchema.currentSchemaVersion
    var path: String
    var keySetID: String
    /// The key-set fingerprint (see ``KeySet/fingerprint``).
    var fingerprint: String
    var headerAuthenticated = true
    var keys: [KeyReport]

    init(path: String, file: KeyFile) {
        self.path = path
        keySetID = file.keySet.id.lowercasedString
        fingerprint = file.keySet.fingerprint
        keys = file.keySet.keys.map { KeyReport($0.descriptor, checkValue: $0.checkValueHex) }
    }
}

/// One line of `keytool verify --json` (an element of its `results` array).
struct VerificationReport: Codable, Sendable {
    var path: String
    /// `ok` or the failure class: corrupted, wrong-credentials, tampered, unsupported,
    /// out-of-bounds, unreadable, invalid, crypto-failure.
    var status: String
    /// The stable error code, e.g. `corrupted.checksum`.
    var code: String?
    var message: String?
    var exitCode: Int32?
    var keySetID: String?
    var fingerprint: String?

    init(_ result: VerificationResult) {
        path = result.path
        status = result.status
        code = result.error?.code.rawValue
        message = result.error?.message
        exitCode = result.error.map(ExitCodes.status(for:))
        keySetID = result.header?.keySetID.lowercasedString
        fingerprint = result.fingerprint
    }
}

/// The `summary` object closing `keytool verify --json`.
struct VerificationSummaryReport: Codable, Sendable {
    var total: Int
    var passed: Int
    var failed: Int
    /// Failure counts by class label.
    var failures: [String: Int]
    /// `integrity` (no password: checksum and structure) or `authenticated` (full open).
    var mode: String
    var exitCode: Int32

    init(_ summary: VerificationSummary) {
        total = summary.total
        passed = summary.passed
        failed = summary.failed
        failures = Dictionary(uniqueKeysWithValues: summary.failures.map { (VerificationSummary.label(for: $0.key), $0.value) })
        mode = summary.authenticated ? "authenticated" : "integrity"
        exitCode = summary.exitCode
    }
}

extension VerificationSummary {
    /// 0 when every file passed, else the exit status of the worst failure's class.
    var exitCode: Int32 {
        worst.map { ExitCodes.status(forClass: $0.rawValue) ?? ExitCodes.internalError } ?? ExitCodes.success
    }
}

/// `keytool audit --json`: the whole audit.
struct AuditReport: Codable, Sendable {
    var schemaVersion = KeyFileReportSchema.currentSchemaVersion
    /// The `--fail-on` threshold.
    var failOn: AuditSeverity
    var maxAgeDays: Int?
    var files: [FileAuditReport]
    /// Finding counts by severity name.
    var counts: [String: Int]
    /// Whether any finding is at or above `failOn` (the command then exits `ExitCodes.auditFindings`).
    var failed: Bool

    init(files: [FileAuditReport], failOn: AuditSeverity, maxAgeDays: Int?) {
        self.files = files
        self.failOn = failOn
        self.maxAgeDays = maxAgeDays
        var counts: [String: Int] = [:]
        for severity in AuditSeverity.allCases { counts[severity.description] = 0 }
        for finding in files.flatMap(\.findings) { counts[finding.severity.description, default: 0] += 1 }
        self.counts = counts
        failed = files.contains { $0.findings.contains { $0.severity >= failOn } }
    }
}

/// `keytool create --json` and `keytool passwd --json`: the file written and verified (re-opened
/// from disk with the new credentials), without key material.
struct WrittenKeyFileReport: Codable, Sendable {
    var schemaVersion = KeyFileReportSchema.currentSchemaVersion
    /// `created` or `re-protected`.
    var operation: String
    var path: String
    var keySetID: String
    var fingerprint: String
    var keyCount: Int
    var account: String
    var kdf: KDFReport
    /// Always true: a file that does not re-open is not reported, the command fails.
    var verified = true

    init(operation: String, path: String, keySet: KeySet, account: ServiceAccount, kdf: KDFParameters) {
        self.operation = operation
        self.path = path
        keySetID = keySet.id.lowercasedString
        fingerprint = keySet.fingerprint
        keyCount = keySet.keys.count
        self.account = account.description
        self.kdf = KDFReport(kdf)
    }
}
