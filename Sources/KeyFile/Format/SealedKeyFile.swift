/// A key file that has been checked for integrity and parsed, but not yet opened: its header is
/// readable, its payload still encrypted. Building one needs no password.
///
/// Layout (all integers big-endian; see `docs/key-file-format.md`):
/// ```
/// magic(12) major(1) minor(1) headerLength(u32) header(headerLength)
/// headerMAC(32) payloadLength(u32) payload(payloadLength) checksum(32)
/// ```
public struct SealedKeyFile: Sendable {
    /// No key file is larger; bigger inputs are refused before they are read in full.
    public static let maximumSize = 8 << 20
    static let preambleSize = KeyFileFormat.magic.count + 2 + 4
    static let macSize = 32
    static let checksumSize = 32
    /// Preamble, an empty header, MAC, payload length, a bare GCM tag and the checksum.
    public static let minimumSize = preambleSize + macSize + 4 + AES256GCM.tagSize + checksumSize
    static let maximumHeaderSize = 2 << 20

    /// The file's bytes, exactly as read.
    public let bytes: [UInt8]
    /// The parsed plaintext header (not authenticated until ``open(with:policy:)`` succeeds).
    public let header: KeyFileHeader
    /// Preamble plus header: what the header MAC covers and the AEAD's associated data.
    let authenticatedPrefix: ArraySlice<UInt8>
    let headerMAC: ArraySlice<UInt8>
    let payload: ArraySlice<UInt8>

    /// Checks, in this order (format section 7): maximum size, magic, minimum size, whole-file
    /// checksum, version, structure. Throws `corrupted` for anything damaged and `unsupported`
    /// for a newer format.
    public init(bytes: [UInt8]) throws {
        try Self.checkMagicAndSize(bytes)
        guard try Self.checksumHolds(bytes) else { throw KeyFileError.checksumMismatch() }
        try self.init(verifiedBytes: bytes)
    }

    private init(verifiedBytes bytes: [UInt8]) throws {
        var cursor = ByteCursor(bytes[...])
        _ = try cursor.readBytes(KeyFileFormat.magic.count, "the magic bytes")
        let major = try cursor.readUInt8("the major version")
        let minor = try cursor.readUInt8("the minor version")
        guard major == KeyFileFormat.majorVersion else { throw KeyFileError.unsupportedVersion(major: major, minor: minor) }
        let headerLength = Int(try cursor.readUInt32("the header length"))
        guard headerLength <= Self.maximumHeaderSize else {
            throw KeyFileError.malformed("the header length \(headerLength) exceeds the \(Self.maximumHeaderSize)-byte limit")
        }
        // Before any field is parsed (format section 2.2): the header, the MAC and the payload
        // length end before the checksum, so header parsing never reads the checksum's bytes.
        guard Self.preambleSize + headerLength + Self.macSize + 4 <= bytes.count - Self.checksumSize else {
            throw KeyFileError.malformed("the header length \(headerLength) runs past the end of the file")
        }
        let headerFields = try cursor.readBytes(headerLength, "the header")
        let header = try KeyFileHeader(fields: headerFields, majorVersion: major, minorVersion: minor)
        let prefixEnd = cursor.position
        let mac = try cursor.readBytes(Self.macSize, "the header MAC")
        let payloadLength = Int(try cursor.readUInt32("the payload length"))
        let expectedPayload = Self.payloadPlaintextSize(keyCount: header.keys.count) + AES256GCM.tagSize
        guard payloadLength == expectedPayload else {
            throw KeyFileError.malformed("the payload is \(payloadLength) bytes but \(header.keys.count) keys need \(expectedPayload)")
        }
        let payload = try cursor.readBytes(payloadLength, "the payload")
        _ = try cursor.readBytes(Self.checksumSize, "the checksum")
        try cursor.expectEnd("the checksum")

        self.bytes = bytes
        self.header = header
        self.authenticatedPrefix = bytes[0..<prefixEnd]
        self.headerMAC = mac
        self.payload = payload
    }

    /// What `inspect` needs: the header when it can be parsed at all, and whether the checksum
    /// holds. Unlike ``init(bytes:)`` this does not stop at a checksum mismatch, so an auditor
    /// can still see what a damaged file claims to be. When the checksum fails and the header
    /// cannot be parsed, the failure is `corrupted.checksum` whatever the parser found: damaged
    /// bytes can read as a newer version, field or algorithm, and damage must never be reported
    /// as "upgrade the tool" (format section 7).
    public static func inspect(bytes: [UInt8]) throws -> (file: SealedKeyFile, checksumHolds: Bool) {
        try checkMagicAndSize(bytes)
        let holds = try checksumHolds(bytes)
        do {
            return (try SealedKeyFile(verifiedBytes: bytes), holds)
        } catch is KeyFileError where !holds {
            throw KeyFileError.checksumMismatch()
        }
    }

    /// Format section 7, steps 1-2. The maximum size comes first, as `SecureFile.read` checks
    /// it before reading a file from disk: an oversized input is `corrupted.size` whatever its
    /// first bytes are, from disk or from memory.
    private static func checkMagicAndSize(_ bytes: [UInt8]) throws {
        guard bytes.count <= maximumSize else { throw KeyFileError.tooLarge(size: bytes.count, limit: maximumSize) }
        let magic = KeyFileFormat.magic
        guard bytes.starts(with: magic) else {
            if bytes.count < magic.count, magic.starts(with: bytes) { throw KeyFileError.truncated(size: bytes.count) }
            throw KeyFileError.notAKeyFile()
        }
        guard bytes.count >= minimumSize else { throw KeyFileError.truncated(size: bytes.count) }
    }

    private static func checksumHolds(_ bytes: [UInt8]) throws -> Bool {
        let split = bytes.count - checksumSize
        return ConstantTime.equals(try SHA256.hash(bytes[..<split]), Array(bytes[split...]))
    }

    static func payloadPlaintextSize(keyCount: Int) -> Int { 2 + keyCount * (4 + 2 + 32 + Key.checkValueSize) }

    /// Opens the file: checks the KDF bounds (before deriving anything), derives the keys, checks
    /// the header MAC (`wrongCredentials` on mismatch), decrypts the payload (`tampered` when it
    /// fails or contradicts the header) and verifies every key's check value.
    ///
    /// With a `budget`, the derivation runs inside a reservation of its memory
    /// (``KDFParameters/memoryCost``), so concurrent opens stay within the budget's total;
    /// the bounds are checked first, so a file over the ceiling is refused without waiting.
    public func open(with credentials: Credentials, policy: KDFParameters.Policy = .standard,
                     budget: KDFMemoryBudget? = nil) throws -> KeyFile {
        guard credentials.account == header.account else {
            throw KeyFileError(.wrongCredentials, code: "account",
                               "wrong account: this key file is bound to '\(header.account)', not '\(credentials.account)'")
        }
        try header.kdf.check(policy)
        let derive = { try DerivedKeys(kdf: header.kdf, salt: header.salt, credentials: credentials) }
        let keys = try budget.map { try $0.withReservation(of: header.kdf.memoryCost, derive) } ?? derive()
        let expectedMAC = try keys.headerMAC(over: authenticatedPrefix)
        guard ConstantTime.equals(expectedMAC, Array(headerMAC)) else { throw KeyFileError.wrongCredentials() }
        guard let plaintext = try AES256GCM.open(payload, key: keys.payloadKey, nonce: header.nonce, associatedData: Array(authenticatedPrefix)) else {
            throw KeyFileError.tampered("the payload fails AES-256-GCM authentication although the header MAC holds")
        }
        let keySet = try KeyFilePayload.decode(plaintext, header: header)
        return try KeyFile(header: header, keySet: keySet)
    }
}

/// The two keys derived from the password: one for the header MAC, one for the payload.
///
/// `master = KDF(password, salt || account)`, then HKDF-SHA-256 expands it with distinct labels.
struct DerivedKeys {
    let headerMACKey: SecureBytes
    let payloadKey: SecureBytes

    static let headerMACLabel = Array("miis-keyfile v1 header mac".utf8)
    static let payloadLabel = Array("miis-keyfile v1 payload key".utf8)

    init(kdf: KDFParameters, salt: [UInt8], credentials: Credentials) throws {
        let kdfSalt = salt + Array(credentials.account.canonical.utf8)
        let master = try kdf.derive(password: credentials.password, salt: kdfSalt, count: 32)
        headerMACKey = try HKDFSHA256.deriveKey(from: master, info: Self.headerMACLabel, count: 32)
        payloadKey = try HKDFSHA256.deriveKey(from: master, info: Self.payloadLabel, count: 32)
    }

    func headerMAC(over prefix: ArraySlice<UInt8>) throws -> [UInt8] {
        try prefix.withUnsafeBytes { data in try self.headerMACKey.withUnsafeBytes { try HMACSHA256.authenticate(data, key: $0) } }
    }
}
