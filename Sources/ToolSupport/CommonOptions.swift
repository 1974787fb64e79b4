import ArgumentParser
import KeyFile

/// `--password-file F` / `--password-stdin`, else a terminal prompt.
package struct PasswordOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("password-file"), help: ArgumentHelp("Read the password from FILE, \(PasswordSource.lineRule).", valueName: "file"))
    package var passwordFile: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input, \(PasswordSource.lineRule).")
    package var passwordStdin = false

    package init() {}

    package mutating func validate() throws {
        if passwordFile != nil, passwordStdin {
            throw ValidationError("use either --password-file or --password-stdin, not both")
        }
    }

    package var source: PasswordSource {
        if let passwordFile { return .file(passwordFile) }
        return passwordStdin ? .standardInput : .prompt
    }
}

/// `--account A`: the service account, normalized as the key-file format specifies.
package struct AccountOption: ParsableArguments, Sendable {
    @Option(name: .customLong("account"), help: ArgumentHelp("The service account: DOMAIN\\user, \\user or user.", valueName: "account"))
    package var account: String

    package init() {}

    package func serviceAccount() throws -> ServiceAccount { try ServiceAccount(account) }
}

/// `--allow-weak-kdf`: the one spelling of the KDF policy, for every command that opens or writes
/// a key file.
package struct WeakKDFOption: ParsableArguments, Sendable {
    @Flag(name: .customLong("allow-weak-kdf"), help: "Accept KDF parameters below the security floor (never above the ceiling).")
    package var allowWeakKDF = false

    package init() {}

    package var policy: KDFParameters.Policy { allowWeakKDF ? .allowWeak : .standard }
}

/// The password KDF a new file is protected with (`--kdf`).
package enum KDFKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case scrypt
    case pbkdf2

    package init?(argument: String) {
        switch argument.lowercased() {
        case "scrypt": self = .scrypt
        case "pbkdf2", "pbkdf2-hmac-sha256": self = .pbkdf2
        default: return nil
        }
    }
}

/// `--kdf scrypt|pbkdf2` with optional cost parameters, and `--allow-weak-kdf`.
///
/// Every value is optional so that the command knows what was given: a parameter of the other
/// KDF, or KDF options where the command keeps the file's own parameters, is a usage error
/// rather than silently ignored.
package struct KDFOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("kdf"), help: "The password KDF for the new file: scrypt (default) or pbkdf2.")
    package var kdf: KDFKind?

    @Option(name: .customLong("scrypt-log-n"), help: "scrypt cost as a power of two (default 17, i.e. N=131072).")
    package var scryptLogN: UInt8?

    @Option(name: .customLong("scrypt-r"), help: "scrypt block size r (default 8).")
    package var scryptR: UInt32?

    @Option(name: .customLong("scrypt-p"), help: "scrypt parallelism p (default 1).")
    package var scryptP: UInt32?

    @Option(name: .customLong("pbkdf2-iterations"), help: "PBKDF2-HMAC-SHA-256 iterations (default 600000).")
    package var pbkdf2Iterations: UInt32?

    @OptionGroup package var weak: WeakKDFOption

    package init() {}

    package mutating func validate() throws {
        let scryptGiven = scryptLogN != nil || scryptR != nil || scryptP != nil
        if kind == .pbkdf2, scryptGiven {
            throw ValidationError("--scrypt-log-n, --scrypt-r and --scrypt-p go with --kdf scrypt, not pbkdf2")
        }
        if kind == .scrypt, pbkdf2Iterations != nil {
            throw ValidationError("--pbkdf2-iterations goes with --kdf pbkdf2")
        }
    }

    /// Whether any KDF option (not `--allow-weak-kdf`) was given.
    package var isGiven: Bool {
        kdf != nil || scryptLogN != nil || scryptR != nil || scryptP != nil || pbkdf2Iterations != nil
    }

    /// The KDF named, or implied by its parameters: `--pbkdf2-iterations` alone means PBKDF2.
    private var kind: KDFKind {
        kdf ?? (pbkdf2Iterations != nil ? .pbkdf2 : .scrypt)
    }

    /// The parameters given, each missing one at today's default.
    package func parameters() -> KDFParameters {
        switch kind {
        case .scrypt:
            guard case let .scrypt(logN, r, p) = KDFParameters.recommended else { return .recommended }
            return .scrypt(logN: scryptLogN ?? logN, r: scryptR ?? r, p: scryptP ?? p)
        case .pbkdf2:
            guard case let .pbkdf2SHA256(iterations) = KDFParameters.recommendedPBKDF2 else { return .recommendedPBKDF2 }
            return .pbkdf2SHA256(iterations: pbkdf2Iterations ?? iterations)
        }
    }

    /// The parameters given, or `nil` when no KDF option was given (keep what the file has).
    package func requestedParameters() -> KDFParameters? {
        isGiven ? parameters() : nil
    }

    package var policy: KDFParameters.Policy { weak.policy }

    /// A usage error when KDF options were given to a command that keeps the file's parameters
    /// (`keepOption`, e.g. `--keep-kdf`).
    package func refuse(with keepOption: String) throws {
        if isGiven { throw ValidationError("\(keepOption) keeps the file's KDF parameters: drop --kdf and its cost options") }
    }
}

/// `--verbose`/`-v`: every step logged to standard error (swift-log through ``Diagnostics``), for
/// every command of every tool.
package struct VerboseOption: ParsableArguments, Sendable {
    @Flag(name: [.customLong("verbose"), .customShort("v")], help: "Log what the command does to standard error.")
    package var verbose = false

    package init() {}

    package func validate() throws {
        Diagnostics.bootstrap(verbose: verbose)
    }
}
