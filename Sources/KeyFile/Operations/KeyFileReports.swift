#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The version of the key-file reports (`keytool --json`; the audit and comparison results the
/// library builds are among them). Every top-level report carries `schemaVersion` (currently
/// ``currentSchemaVersion``); fields are only ever added within a version, and a change that
/// removes or re-types a field bumps it. None of them holds a secret: key material never appears,
/// only key IDs, check values and fingerprints.
public enum KeyFileReportSchema {
    public static let currentSchemaVersion = 1
}

/// Times as the tools print them: ISO 8601 in UTC, whole seconds (`2026-11-25T10:09:05Z`).
public enum KeyFileTime {
    public static func iso8601(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return String(seconds) }
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }

    /// Seconds since the Unix epoch, now.
    public static var now: Int64 { Int64(Date().timeIntervalSince1970) }
}

/// KDF parameters as reported, with their standing against the floor, ceiling and today's defaults.
public struct KDFReport: Codable, Sendable, Equatable {
    /// `scrypt` or `pbkdf2-hmac-sha256`.
    public var algorithm: String
    public var logN: UInt8?
    public var n: UInt64?
    public var r: UInt32?
    public var p: UInt32?
    public var iterations: UInt32?
    /// scrypt's memory need in bytes (128·r·N); absent for PBKDF2.
    public var memoryBytes: UInt64?
    /// Below the security floor: refused unless weak parameters are allowed.
    public var belowFloor: Bool
    /// Above the resource ceiling (or structurally invalid): always refused.
    public var outOfBounds: Bool
    /// At least as strong as today's recommended default for the algorithm.
    public var meetsRecommendation: Bool

    public init(_ kdf: KDFParameters) {
        algorithm = kdf.algorithmName
        belowFloor = kdf.isWeak
        outOfBounds = (try? kdf.check(.allowWeak)) == nil
        switch kdf {
        case let .scrypt(logN, r, p):
            self.logN = logN
            n = logN < 64 ? UInt64(1) << UInt64(logN) : nil
            self.r = r
            self.p = p
            memoryBytes = kdf.memoryCost
            meetsRecommendation = !kdf.isWeak && kdf.memoryCost >= KDFParameters.recommended.memoryCost
        case let .pbkdf2SHA256(iterations):
            self.iterations = iterations
            if case let .pbkdf2SHA256(recommended) = KDFParameters.recommendedPBKDF2 {
                meetsRecommendation = iterations >= recommended
            } else {
                meetsRecommendation = false
            }
        }
    }
}

/// One entry of the key index; `checkValue` only once the file has been opened.
public struct KeyReport: Codable, Sendable, Equatable {
    public var id: UInt32
    public var algorithm: String
    public var status: String
    public var createdAt: String
    public var primary: Bool
    /// The key's 8-byte check value in hex (identifies, never reveals, the material).
    public var checkValue: String?

    public init(_ descriptor: KeyDescriptor, checkValue: String? = nil) {
        id = descriptor.id.rawValue
        algorithm = descriptor.algorithm.description
        status = descriptor.status.description
        createdAt = KeyFileTime.iso8601(descriptor.createdAt)
        primary = descriptor.isPrimary
        self.checkValue = checkValue
    }
}

/// The plaintext header as reported.
public struct HeaderReport: Codable, Sendable, Equatable {
    public var formatVersion: String
    public var keySetID: String
    /// The key set's generation (1 for a file without the generation field).
    public var generation: UInt32
    public var createdAt: String
    public var sourceServer: String
    public var account: String
    public var kdf: KDFReport
    public var cipher: String
    public var keyCount: Int
    public var keys: [KeyReport]
    public var comment: String?

    public init(_ header: KeyFileHeader) {
        formatVersion = "\(header.majorVersion).\(header.minorVersion)"
        keySetID = header.keySetID.lowercasedString
        generation = header.generation
        createdAt = KeyFileTime.iso8601(header.createdAt)
        sourceServer = header.sourceServer
        account = header.account.canonical
        kdf = KDFReport(header.kdf)
        cipher = header.cipherName
        keyCount = header.keys.count
        keys = header.keys.map { KeyReport($0) }
        comment = header.comment
    }
}
