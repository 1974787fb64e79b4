import ArgumentParser
import KeyFile

/// `--password-file F` / `--password-stdin`, else a terminal prompt.
public struct PasswordOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("password-file"), help: ArgumentHelp("Read the password from the first line of FILE.", valueName: "file"))
    public var passwordFile: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
    public var passwordStdin = false

    public init() {}

    public mutating func validate() throws {
        if passwordFile != nil, passwordStdin {
            throw ValidationError("use either --password-file or --password-stdin, not both")
        }
    }

    public var source: PasswordSource {
        if let passwordFile { return .file(passwordFile) }
        return passwordStdin ? .standardInput : .prompt
    }
}

/// `--account A`: the service account, normalized as the key-file format specifies.
public struct AccountOption: ParsableArguments, Sendable {
    @Option(name: .customLong("account"), help: ArgumentHelp("The service account: DOMAIN\\user, \\user or user.", valueName: "account"))
    public var account: String

    public init() {}

    public func serviceAccount() throws -> ServiceAccount { try ServiceAccount(account) }
}

/// `--kdf scrypt|pbkdf2` with optional cost parameters, and `--allow-weak-kdf`.
public struct KDFOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("kdf"), help: "The password KDF for the new file: scrypt (default) or pbkdf2.")
    public var kdf: String = "scrypt"

    @Option(name: .customLong("scrypt-log-n"), help: "scrypt cost as a power of two (default 17, i.e. N=131072).")
    public var scryptLogN: UInt8 = 17

    @Option(name: .customLong("scrypt-r"), help: "scrypt block size r (default 8).")
    public var scryptR: UInt32 = 8

    @Option(name: .customLong("scrypt-p"), help: "scrypt parallelism p (default 1).")
    public var scryptP: UInt32 = 1

    @Option(name: .customLong("pbkdf2-iterations"), help: "PBKDF2-HMAC-SHA-256 iterations (default 600000).")
    public var pbkdf2Iterations: UInt32 = 600_000

    @Flag(name: .customLong("allow-weak-kdf"), help: "Accept KDF parameters below the security floor (never above the ceiling).")
    public var allowWeakKDF = false

    public init() {}

    public func parameters() throws -> KDFParameters {
        switch kdf.lowercased() {
        case "scrypt": return .scrypt(logN: scryptLogN, r: scryptR, p: scryptP)
        case "pbkdf2", "pbkdf2-hmac-sha256": return .pbkdf2SHA256(iterations: pbkdf2Iterations)
        default: throw ValidationError("unknown --kdf '\(kdf)'; use scrypt or pbkdf2")
        }
    }

    public var policy: KDFParameters.Policy { allowWeakKDF ? .allowWeak : .standard }
}
