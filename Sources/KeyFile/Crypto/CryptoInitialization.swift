internal import COpenSSL
import Synchronization

/// How this process initializes libcrypto; a tool chooses once per command, before any other
/// crypto call.
///
/// By default libcrypto initializes itself on first use and reads the system configuration
/// (`/etc/ssl/openssl.cnf`: crypto policies, the FIPS provider, engine and provider settings).
/// That read is a measurable share of a short command (`keytool inspect` spends about 7 % of its
/// run there) and it is only needed where policy matters: deriving keys and encrypting or
/// decrypting. Commands that only hash (SHA-256 checksums of `inspect`, `verify` without a
/// password) may skip it with ``hashOnly()``.
///
/// The choice is sticky: once libcrypto has been initialized without its configuration it cannot
/// load it later in the same process. So a process that chose ``hashOnly()`` refuses every key
/// derivation and every AEAD operation (``KeyFileError/Category/cryptoFailure``, code
/// `crypto-init`) rather than run them outside the system's policy; and ``full()`` after
/// ``hashOnly()`` throws the same error.
public enum CryptoInitialization {
    /// What was chosen so far.
    enum Mode: UInt8, Equatable {
        /// Nothing yet: libcrypto initializes itself with the configuration on first use.
        case automatic = 0
        case hashOnly = 1
        case full = 2
    }

    private static let state = Atomic<UInt8>(Mode.automatic.rawValue)

    static var mode: Mode { Mode(rawValue: state.load(ordering: .acquiring)) ?? .automatic }

    /// For commands that hash and never derive keys or decrypt (`inspect`, `verify` without a
    /// password): initializes libcrypto without loading the system configuration
    /// (`OPENSSL_INIT_NO_LOAD_CONFIG`). A no-op when ``full()`` already ran (the configuration is
    /// loaded; hashing does not mind).
    public static func hashOnly() throws {
        guard try transition(to: .hashOnly) else { return }
        try OpenSSLFailure.check(OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_LOAD_CONFIG), nil), "initialization")
    }

    /// For commands that derive keys or encrypt (everything with a password, `create`, `passwd`,
    /// `export-keys`): initializes libcrypto with the system configuration, as automatic
    /// initialization would, so a configuration error surfaces here as one clear error.
    public static func full() throws {
        guard try transition(to: .full) else { return }
        try OpenSSLFailure.check(OPENSSL_init_crypto(UInt64(OPENSSL_INIT_LOAD_CONFIG), nil), "initialization")
    }

    /// Throws unless key derivation and AEAD may run: the process did not choose ``hashOnly()``.
    static func requireConfiguration(_ operation: String) throws {
        guard mode != .hashOnly else { throw refusal(operation) }
    }

    /// Records `requested`; true when libcrypto must be initialized for it now.
    private static func transition(to requested: Mode) throws -> Bool {
        var current = mode
        while true {
            guard let next = next(from: current, requesting: requested) else { throw refusal("initialization with the system configuration") }
            if next == current { return false }
            let (exchanged, original) = state.compareExchange(expected: current.rawValue, desired: next.rawValue, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = Mode(rawValue: original) ?? .automatic
        }
    }

    /// The mode after asking for `requested` in `current`, or nil when that cannot be had.
    static func next(from current: Mode, requesting requested: Mode) -> Mode? {
        switch (current, requested) {
        case (.automatic, _): return requested
        case (.hashOnly, .hashOnly), (.full, .full), (.full, .hashOnly): return current
        case (.hashOnly, .full): return nil
        case (_, .automatic): return current
        }
    }

    private static func refusal(_ operation: String) -> KeyFileError {
        KeyFileError(.cryptoFailure, code: "crypto-init",
                     "\(operation) needs libcrypto's system configuration, but this process initialized it for hashing only")
    }
}
