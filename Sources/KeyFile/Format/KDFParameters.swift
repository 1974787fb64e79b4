/// Which password KDF protects a file, with its cost parameters (the salt is stored beside it).
///
/// Bounds are checked before any derivation runs, so a crafted file cannot make a reader spend
/// unbounded memory or time: see ``check(_:)`` and the format specification.
public enum KDFParameters: Hashable, Sendable, CustomStringConvertible {
    /// scrypt with N = 2^logN, block size r, parallelism p (RFC 7914).
    case scrypt(logN: UInt8, r: UInt32, p: UInt32)
    /// PBKDF2 with HMAC-SHA-256 and the given iterations (RFC 8018); the FIPS-friendly choice.
    case pbkdf2SHA256(iterations: UInt32)

    /// What new files use: scrypt N = 2^17, r = 8, p = 1 (128 MiB, about 0.3 s on a server core).
    public static let recommended = KDFParameters.scrypt(logN: 17, r: 8, p: 1)
    /// The FIPS-friendly default: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA-256.
    public static let recommendedPBKDF2 = KDFParameters.pbkdf2SHA256(iterations: 600_000)

    /// Floors below which parameters are weak (refused unless weak parameters are allowed).
    public static let scryptMinimumLogN: UInt8 = 15
    public static let pbkdf2MinimumIterations: UInt32 = 310_000
    /// Ceilings above which parameters are refused outright, before any work.
    public static let scryptMaximumMemory: UInt64 = 1 << 30
    public static let scryptMaximumLogN: UInt8 = 30
    public static let scryptMaximumR: UInt32 = 32
    public static let scryptMaximumP: UInt32 = 16
    /// scrypt's time is proportional to N·r·p; 2^24 is 16 times the recommended 2^17·8·1, a few
    /// seconds on a server core. Without it p = 16 at the memory ceiling would cost about a minute.
    public static let scryptMaximumWork: UInt64 = 1 << 24
    public static let pbkdf2MaximumIterations: UInt32 = 10_000_000

    /// How strictly a caller applies the floor. The ceiling always applies.
    public enum Policy: Sendable {
        /// Refuse parameters below the floor.
        case standard
        /// Accept parameters below the floor (tests, migrations of old files), never above the ceiling.
        case allowWeak
    }

    /// scrypt's memory need, 128·r·N bytes (what OpenSSL allocates for V), or 0 for PBKDF2.
    /// The ceiling bounds it per file, and a derivation reserves it in a ``KDFMemoryBudget``
    /// before it runs (OpenSSL's B and XY buffers, 128·r·(p + 2) bytes, at most 72 KiB within
    /// the ceiling, are left out of both).
    public var memoryCost: UInt64 {
        switch self {
        case let .scrypt(logN, r, _):
            guard logN < 64 else { return .max }
            let (product, overflow) = (UInt64(128) * UInt64(r)).multipliedReportingOverflow(by: UInt64(1) << UInt64(logN))
            return overflow ? .max : product
        case .pbkdf2SHA256: return 0
        }
    }

    /// scrypt's work, N·r·p (saturating), or 0 for PBKDF2.
    public var workCost: UInt64 {
        switch self {
        case let .scrypt(logN, r, p):
            guard logN < 64 else { return .max }
            let (rp, overflowRP) = UInt64(r).multipliedReportingOverflow(by: UInt64(p))
            let (work, overflowWork) = rp.multipliedReportingOverflow(by: UInt64(1) << UInt64(logN))
            return overflowRP || overflowWork ? .max : work
        case .pbkdf2SHA256: return 0
        }
    }

    /// Whether the parameters are below the floor.
    public var isWeak: Bool {
        switch self {
        case let .scrypt(logN, _, _): return logN < Self.scryptMinimumLogN
        case let .pbkdf2SHA256(iterations): return iterations < Self.pbkdf2MinimumIterations
        }
    }

    /// Refuses parameters past the ceiling, structurally invalid ones, and (under `.standard`)
    /// weak ones, all with ``KeyFileError/Category/parametersOutOfBounds``.
    public func check(_ policy: Policy) throws {
        switch self {
        case let .scrypt(logN, r, p):
            guard logN >= 1, r >= 1, p >= 1 else {
                throw KeyFileError.invalidParameters("scrypt needs logN, r and p of at least 1, got logN=\(logN) r=\(r) p=\(p)")
            }
            guard logN <= Self.scryptMaximumLogN, r <= Self.scryptMaximumR, p <= Self.scryptMaximumP,
                  memoryCost <= Self.scryptMaximumMemory, workCost <= Self.scryptMaximumWork
            else {
                throw KeyFileError.excessiveParameters(
                    "scrypt N=2^\(logN) r=\(r) p=\(p) exceeds the ceiling (memory 128·r·N <= 1 GiB, work N·r·p <= 2^24, r <= \(Self.scryptMaximumR), p <= \(Self.scryptMaximumP))")
            }
            // RFC 7914 requires N < 2^(128·r/8), i.e. logN < 16·r; OpenSSL enforces it, so refuse it
            // here as invalid parameters instead of surfacing an OpenSSL failure after the fact.
            guard UInt64(logN) < 16 * UInt64(r) else {
                throw KeyFileError.invalidParameters("scrypt needs N < 2^(16·r), got logN=\(logN) with r=\(r)")
            }
        case let .pbkdf2SHA256(iterations):
            guard iterations >= 1 else { throw KeyFileError.invalidParameters("PBKDF2 needs at least 1 iteration") }
            guard iterations <= Self.pbkdf2MaximumIterations else {
                throw KeyFileError.excessiveParameters("PBKDF2 with \(iterations) iterations exceeds the ceiling of \(Self.pbkdf2MaximumIterations)")
            }
        }
        if policy == .standard, isWeak { throw KeyFileError.weakParameters(description) }
    }

    /// Runs the KDF over `password` and `salt`. The bounds must have been checked by the caller.
    func derive(password: Password, salt: [UInt8], count: Int) throws -> SecureBytes {
        try password.bytes.withUnsafeBytes { password in
            switch self {
            case let .scrypt(logN, r, p):
                return try PasswordKDF.scrypt(password: password, salt: salt, n: UInt64(1) << UInt64(logN), r: r, p: p, count: count)
            case let .pbkdf2SHA256(iterations):
                return try PasswordKDF.pbkdf2SHA256(password: password, salt: salt, iterations: UInt64(iterations), count: count)
            }
        }
    }

    /// The algorithm's name as the specification and the tools print it.
    public var algorithmName: String {
        switch self {
        case .scrypt: return "scrypt"
        case .pbkdf2SHA256: return "pbkdf2-hmac-sha256"
        }
    }

    public var description: String {
        switch self {
        case let .scrypt(logN, r, p): return "scrypt N=2^\(logN) r=\(r) p=\(p)"
        case let .pbkdf2SHA256(iterations): return "pbkdf2-hmac-sha256 iterations=\(iterations)"
        }
    }
}
