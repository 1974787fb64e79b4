import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How serious an audit finding is, from informational to high.
public enum AuditSeverity: Int, Codable, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case info = 0, low, medium, high

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String {
        switch self {
        case .info: return "info"
        case .low: return "low"
        case .medium: return "medium"
        case .high: return "high"
        }
    }

    public init?(name: String) {
        guard let value = Self.allCases.first(where: { $0.description == name.lowercased() }) else { return nil }
        self = value
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(name: name) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown severity \(name)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// One observation of the audit, with a stable identifier (e.g. `kdf.below-floor`).
public struct AuditFinding: Codable, Sendable, Equatable {
    public var id: String
    public var severity: AuditSeverity
    public var message: String

    public init(_ id: String, _ severity: AuditSeverity, _ message: String) {
        self.id = id
        self.severity = severity
        self.message = message
    }
}

/// The audit of one file: what it claims, its file-system facts and the findings.
public struct FileAuditReport: Codable, Sendable {
    public var path: String
    /// The header as read without the password (absent when the file could not be parsed).
    public var header: HeaderReport?
    public var checksumValid: Bool?
    /// Always false: without the password the header's authenticity is unknown.
    public var headerAuthenticated = false
    /// Permission bits in octal, e.g. `0600`.
    public var mode: String?
    public var ownerUID: UInt32?
    public var ownerName: String?
    /// Age of the file in whole days, from its header's creation time.
    public var ageDays: Int64?
    public var findings: [AuditFinding]

    /// A report with only a path and findings (facts are filled in by the auditor).
    public init(path: String, findings: [AuditFinding]) {
        self.path = path
        self.findings = findings
    }

    /// The most severe finding.
    public var highestSeverity: AuditSeverity? { findings.map(\.severity).max() }
}

/// The auditor's policy checks, none of which needs the password.
///
/// Rules (identifiers as reported):
/// - `file.unreadable` (high): the file cannot be read; `file.corrupted` (high): magic, size,
///   checksum or structure is damaged; `file.unsupported` (high): a newer format version.
/// - `header.unauthenticated` (info): always; the header is only checksummed until opened.
/// - `kdf.out-of-bounds` (high): above the resource ceiling, no tool will open it;
///   `kdf.below-floor` (high): below the security floor (scrypt N < 2^15, PBKDF2 < 310,000);
///   `kdf.below-recommended` (medium): above the floor but below today's defaults
///   (scrypt 2^17/8/1, i.e. 128 MiB; PBKDF2 600,000); `kdf.pbkdf2` (info): PBKDF2 is not memory-hard.
/// - `cipher` (info): the payload cipher (AES-256-GCM is the only one of format 1).
/// - `age.exceeded` (medium): older than `maxAgeDays`; `age.future` (low): created in the future.
/// - `permissions.world-readable`, `permissions.world-writable` (high),
///   `permissions.group-readable`, `permissions.group-writable` (medium),
///   `permissions.directory-writable` (medium): the containing directory is group- or
///   world-writable without the sticky bit, so the file can be replaced.
/// - `ownership.other-user` (high): the file is owned neither by the user running the audit
///   nor by root; its owner can rewrite it or change its mode at any time, whatever the bits say.
/// - `ownership.unknown-owner` (medium): the owning UID has no account on this system.
public struct KeyFileAuditor: Sendable {
    /// Files older than this many days get `age.exceeded`; nil disables the check.
    public var maxAgeDays: Int?
    /// "Now", in seconds since the epoch (injectable for tests).
    public var now: Int64
    /// The user the audit runs for: files owned by anyone but this user and root get
    /// `ownership.other-user` (injectable for tests).
    public var invokingUserID: uid_t

    public init(maxAgeDays: Int? = nil, now: Int64 = KeyFileTime.now, invokingUserID: uid_t = geteuid()) {
        self.maxAgeDays = maxAgeDays
        self.now = now
        self.invokingUserID = invokingUserID
    }

    /// Audits the file at `path`.
    public func audit(_ path: String) -> FileAuditReport {
        var report = FileAuditReport(path: path, findings: [])
        var status = stat()
        guard FileSystemPath.withCString(path, { stat($0, &status) }) == 0 else {
            let reason = String(cString: strerror(errno))
            report.findings.append(.init("file.unreadable", .high, "cannot read the file: \(reason)"))
            return report
        }
        report.mode = "0" + String(status.st_mode & 0o7777, radix: 8)
        report.ownerUID = status.st_uid
        report.ownerName = Self.userName(status.st_uid)
        report.findings += permissionFindings(mode: status.st_mode, directory: (path as NSString).deletingLastPathComponent)
        report.findings += ownershipFindings(owner: status.st_uid, name: report.ownerName)
        do {
            let bytes = try SecureFile.read(path)
            let (sealed, checksumHolds) = try SealedKeyFile.inspect(bytes: bytes)
            report.checksumValid = checksumHolds
            report.header = HeaderReport(sealed.header)
            if !checksumHolds {
                report.findings.append(.init("file.corrupted", .high, KeyFileError.checksumMismatch().message))
            }
            report.findings += contentFindings(sealed.header)
            report.ageDays = (now - sealed.header.createdAt) / 86_400
        } catch let error as KeyFileError {
            switch error.category {
            case .io: report.findings.append(.init("file.unreadable", .high, error.message))
            case .unsupported: report.findings.append(.init("file.unsupported", .high, error.message))
            default: report.findings.append(.init("file.corrupted", .high, error.message))
            }
        } catch {
            report.findings.append(.init("file.unreadable", .high, "\(error)"))
        }
        report.findings.sort { ($0.severity, $1.id) > ($1.severity, $0.id) }
        return report
    }

    /// Findings from the header alone: authenticity, KDF, cipher and age.
    public func contentFindings(_ header: KeyFileHeader) -> [AuditFinding] {
        var findings: [AuditFinding] = [
            .init("header.unauthenticated", .info, "header authenticity is unknown without the password (it is checksummed, not authenticated)"),
            .init("cipher", .info, "payload cipher \(header.cipherName)"),
        ]
        let kdf = header.kdf
        let report = KDFReport(kdf)
        if report.outOfBounds {
            findings.append(.init("kdf.out-of-bounds", .high, "\(kdf) is above the resource ceiling or invalid; no tool will open this file"))
        } else if report.belowFloor {
            findings.append(.init("kdf.below-floor", .high, "\(kdf) is below the security floor; re-protect it with stronger KDF parameters"))
        } else if !report.meetsRecommendation {
            let recommended = kdf.algorithmName == "scrypt" ? KDFParameters.recommended : KDFParameters.recommendedPBKDF2
            findings.append(.init("kdf.below-recommended", .medium, "\(kdf) is above the floor but below today's recommendation (\(recommended))"))
        }
        if case .pbkdf2SHA256 = kdf {
            findings.append(.init("kdf.pbkdf2", .info, "PBKDF2 is not memory-hard; prefer scrypt unless FIPS compliance requires PBKDF2"))
        }
        let age = now - header.createdAt
        if age < -300 {
            findings.append(.init("age.future", .low, "the file claims to be created in the future (\(KeyFileTime.iso8601(header.createdAt)))"))
        } else if let maxAgeDays, age > Int64(maxAgeDays) * 86_400 {
            findings.append(.init("age.exceeded", .medium, "the backup is \(age / 86_400) days old, more than the \(maxAgeDays)-day limit"))
        }
        return findings
    }

    /// Findings from permission bits of the file and of its directory.
    public func permissionFindings(mode: mode_t, directory: String) -> [AuditFinding] {
        var findings: [AuditFinding] = []
        let octal = "0" + String(mode & 0o777, radix: 8)
        if mode & S_IROTH != 0 { findings.append(.init("permissions.world-readable", .high, "the file is world-readable (\(octal)); chmod 600")) }
        if mode & S_IWOTH != 0 { findings.append(.init("permissions.world-writable", .high, "the file is world-writable (\(octal)); chmod 600")) }
        if mode & S_IRGRP != 0 { findings.append(.init("permissions.group-readable", .medium, "the file is group-readable (\(octal)); chmod 600")) }
        if mode & S_IWGRP != 0 { findings.append(.init("permissions.group-writable", .high, "the file is group-writable (\(octal)); chmod 600")) }
        var status = stat()
        let directory = directory.isEmpty ? "." : directory
        if stat(directory, &status) == 0, status.st_mode & (S_IWGRP | S_IWOTH) != 0, status.st_mode & S_ISVTX == 0 {
            findings.append(.init("permissions.directory-writable", .medium,
                                  "the directory \(directory) is group- or world-writable (0\(String(status.st_mode & 0o7777, radix: 8))); others can replace the file"))
        }
        return findings
    }

    /// Findings from the file's owner: see `ownership.other-user` and `ownership.unknown-owner`.
    public func ownershipFindings(owner: uid_t, name: String?) -> [AuditFinding] {
        var findings: [AuditFinding] = []
        if owner != 0, owner != invokingUserID {
            let who = name.map { "\($0) (uid \(owner))" } ?? "uid \(owner)"
            findings.append(.init("ownership.other-user", .high,
                                  "the file is owned by \(who), neither root nor you: its owner can rewrite it or loosen its mode; chown it"))
        }
        if name == nil {
            findings.append(.init("ownership.unknown-owner", .medium, "the owner UID \(owner) has no account on this system"))
        }
        return findings
    }

    static func userName(_ uid: uid_t) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return String(cString: name)
    }
}
