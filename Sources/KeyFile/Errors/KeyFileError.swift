import ErrorReporting

/// The single error type of the KeyFile library.
///
/// Every failure carries a stable ``Code`` (safe to match on and to print in scripts), a
/// ``Category`` that tells the *kind* of failure (its ``ReportableError/errorClass``, which the tools
/// map to exit statuses 10-17), and a one-line message that says what is wrong. Messages never
/// contain secrets.
public struct KeyFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. Categories are what callers branch on and what exit codes map to.
    public enum Category: String, Sendable, Codable, CaseIterable {
        /// The bytes are not an intact key file: wrong magic, checksum mismatch, broken structure.
        case corrupted
        /// The file is intact but the password or account does not open it.
        case wrongCredentials
        /// The checksum holds and the header MAC holds, yet the encrypted payload fails
        /// authentication or contradicts the header: the file was deliberately modified after it
        /// was written (anyone can recompute the public checksum after editing the payload). It
        /// does not prove that the modifier knew the password.
        case tampered
        /// A format version or feature this reader does not implement.
        case unsupported
        /// KDF parameters below the security floor or above the resource ceiling.
        case parametersOutOfBounds
        /// The file cannot be read or written (missing, permissions, not a regular file, disk).
        case io
        /// A value given by the caller is invalid (empty account, bad key count, ...).
        case invalidInput
        /// OpenSSL itself failed; the message carries OpenSSL's reason string.
        case cryptoFailure

        /// How serious a failure is when many files are checked at once; the worst one decides the
        /// exit status. Tampering outranks corruption, which outranks a mere credential mismatch.
        public var severity: Int {
            switch self {
            case .tampered: return 8
            case .corrupted: return 7
            case .wrongCredentials: return 6
            case .cryptoFailure: return 5
            case .parametersOutOfBounds: return 4
            case .unsupported: return 3
            case .io: return 2
            case .invalidInput: return 1
            }
        }
    }

    /// A stable, machine-readable identifier such as `corrupted.checksum`.
    public struct Code: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
    }

    public let code: Code
    public let category: Category
    public let message: String

    public init(_ category: Category, code: String, _ message: String) {
        self.category = category
        self.code = Code(rawValue: "\(category.rawValue).\(code)")
        self.message = message
    }

    public var description: String { message }
}

extension KeyFileError: ReportableError {
    public var errorClass: String { category.rawValue }
    public var errorCode: String { code.rawValue }
}

// MARK: - Factories (one per failure, so codes and messages stay consistent)

extension KeyFileError {
    static func notAKeyFile() -> Self {
        .init(.corrupted, code: "magic", "not a key file: the magic bytes are wrong (was it copied in text mode or is it another file?)")
    }
    static func truncated(size: Int) -> Self {
        .init(.corrupted, code: "truncated", "the key file is truncated (\(size) bytes); restore it from another backup")
    }
    static func checksumMismatch() -> Self {
        .init(.corrupted, code: "checksum", "the key file is corrupted: its whole-file SHA-256 checksum does not match; restore it from another backup")
    }
    static func malformed(_ detail: String) -> Self {
        .init(.corrupted, code: "structure", "the key file is malformed: \(detail)")
    }
    static func tooLarge(size: Int, limit: Int) -> Self {
        .init(.corrupted, code: "size", "not a key file: \(size) bytes is larger than the \(limit)-byte limit")
    }
    static func unsupportedVersion(major: UInt8, minor: UInt8) -> Self {
        .init(.unsupported, code: "version", "unsupported key-file format version \(major).\(minor); this tool reads version \(KeyFileFormat.majorVersion).x")
    }
    static func unsupportedCriticalField(_ type: UInt16) -> Self {
        .init(.unsupported, code: "critical-field", "the key file uses critical field 0x\(String(type, radix: 16)) that this tool does not understand; upgrade the tool")
    }
    static func unsupportedAlgorithm(_ what: String, _ value: UInt8) -> Self {
        .init(.unsupported, code: "algorithm", "unsupported \(what) identifier \(value) in the key file; upgrade the tool")
    }
    static func wrongCredentials() -> Self {
        .init(.wrongCredentials, code: "header-mac", "wrong password or account: the header MAC does not match (the file itself is intact)")
    }
    static func tampered(_ detail: String) -> Self {
        .init(.tampered, code: "payload", "the key file has been tampered with: \(detail); do not trust it")
    }
    static func weakParameters(_ detail: String) -> Self {
        .init(.parametersOutOfBounds, code: "weak", "KDF parameters are below the security floor (\(detail)); re-protect the file with stronger parameters, or allow weak parameters explicitly")
    }
    static func excessiveParameters(_ detail: String) -> Self {
        .init(.parametersOutOfBounds, code: "ceiling", "KDF parameters exceed the resource ceiling (\(detail)); refused before deriving")
    }
    static func invalidParameters(_ detail: String) -> Self {
        .init(.parametersOutOfBounds, code: "invalid", "invalid KDF parameters: \(detail)")
    }
    /// An invalid value supplied by the caller.
    public static func invalidInput(_ code: String, _ message: String) -> Self {
        .init(.invalidInput, code: code, message)
    }
    /// A file-system failure on `path`.
    public static func io(_ code: String, path: String, _ detail: String) -> Self {
        .init(.io, code: code, "\(path): \(detail)")
    }
}
