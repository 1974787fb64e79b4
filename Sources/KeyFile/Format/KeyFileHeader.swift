#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The plaintext header of a key file: everything an auditor may read without the password.
///
/// It is authenticated twice once the file is opened: by the header MAC (under a key derived from
/// the password and account) and as associated data of the payload's AES-256-GCM. Until then it
/// is merely *checksummed*: anyone could have rewritten it together with the checksum.
public struct KeyFileHeader: Hashable, Sendable {
    public static let saltSize = 32
    static let indexEntrySize = 15

    public var majorVersion: UInt8 = KeyFileFormat.majorVersion
    public var minorVersion: UInt8 = KeyFileFormat.minorVersion
    public var keySetID: KeySetID
    /// Seconds since the Unix epoch (UTC) when this file was written.
    public var createdAt: Int64
    /// The server the key set was exported from.
    public var sourceServer: String
    /// The service account bound into the key derivation.
    public var account: ServiceAccount
    public var kdf: KDFParameters
    /// The 32-byte KDF salt, random per file.
    public var salt: [UInt8]
    /// The 12-byte AES-256-GCM nonce of the payload, random per file.
    public var nonce: [UInt8]
    /// The public key index, in ascending key-ID order.
    public var keys: [KeyDescriptor]
    /// An optional free-text note, not critical.
    public var comment: String?
    /// The key set's generation (``KeySet/generation``); 1 when the file has no generation field.
    public var generation: UInt32 = 1
    /// Non-critical fields from a newer writer, preserved as they were.
    public var unknownFields: [UnknownHeaderField] = []

    public init(
        keySetID: KeySetID, createdAt: Int64, sourceServer: String, account: ServiceAccount,
        kdf: KDFParameters, salt: [UInt8], nonce: [UInt8], keys: [KeyDescriptor], comment: String? = nil
    ) {
        self.keySetID = keySetID
        self.createdAt = createdAt
        self.sourceServer = sourceServer
        self.account = account
        self.kdf = kdf
        self.salt = salt
        self.nonce = nonce
        self.keys = keys
        self.comment = comment
    }

    /// The cipher protecting the payload; version 1 knows only AES-256-GCM.
    public var cipherName: String { "AES-256-GCM" }

    public var primaryKeyID: KeyID? { keys.first(where: \.isPrimary)?.id }
}

// MARK: - Encoding

extension KeyFileHeader {
    /// The header fields in canonical order (the bytes between the preamble and the header MAC).
    func encodedFields() throws -> [UInt8] {
        try validateForWriting()
        var fields: [(number: UInt16, wireType: UInt16, value: [UInt8])] = []
        func add(_ field: HeaderField, _ build: (inout ByteWriter) -> Void) {
            var writer = ByteWriter()
            build(&writer)
            fields.append((field.rawValue, field.wireType, writer.bytes))
        }
        add(.keySetID) { $0.write(keySetID.bytes) }
        add(.createdAt) { $0.write(createdAt) }
        add(.sourceServer) { $0.write(Array(sourceServer.utf8)) }
        add(.account) { $0.write(Array(account.canonical.utf8)) }
        add(.kdf) { writer in
            switch kdf {
            case let .scrypt(logN, r, p):
                writer.write(UInt8(1)); writer.write(logN); writer.write(r); writer.write(p)
            case let .pbkdf2SHA256(iterations):
                writer.write(UInt8(2)); writer.write(iterations)
            }
            writer.write(salt)
        }
        add(.cipher) { $0.write(UInt8(1)); $0.write(nonce) }
        add(.keyIndex) { writer in
            writer.write(UInt16(keys.count))
            for key in keys {
                writer.write(key.id.rawValue)
                writer.write(key.algorithm.rawValue)
                writer.write(key.status.rawValue)
                writer.write(UInt8(key.isPrimary ? 1 : 0))
                writer.write(key.createdAt)
            }
        }
        if let comment { add(.comment) { $0.write(Array(comment.utf8)) } }
        // Generation 1 is the field's absence: files of key sets never rotated stay byte-identical
        // to those of writers that predate the field.
        if generation > 1 { add(.generation) { $0.write(generation) } }
        for field in unknownFields { fields.append((field.type & ~HeaderField.criticalFlag, field.type, field.value)) }

        var writer = ByteWriter()
        for field in fields.sorted(by: { $0.number < $1.number }) {
            writer.write(field.wireType)
            writer.write(UInt32(field.value.count))
            writer.write(field.value)
        }
        return writer.bytes
    }

    private func validateForWriting() throws {
        guard salt.count == Self.saltSize else { throw KeyFileError.invalidInput("salt", "the salt must be \(Self.saltSize) bytes") }
        guard nonce.count == AES256GCM.nonceSize else { throw KeyFileError.invalidInput("nonce", "the nonce must be 12 bytes") }
        guard generation >= 1 else { throw KeyFileError.invalidInput("generation", "the key-set generation starts at 1") }
        try KeySet.validate(keys)
        try Self.checkText(sourceServer, field: .sourceServer, allowEmpty: false)
        if let comment { try Self.checkText(comment, field: .comment, allowEmpty: true) }
        try kdf.check(.allowWeak)
        for field in unknownFields {
            let number = field.type & ~HeaderField.criticalFlag
            guard field.type & HeaderField.criticalFlag == 0, HeaderField(rawValue: number) == nil, number != 0 else {
                throw KeyFileError.invalidInput("unknown-field", "extra header field 0x\(String(field.type, radix: 16)) must be non-critical and unregistered")
            }
            // A reader refuses a longer one (format section 4, rule 3).
            guard field.value.count <= HeaderField.unknownFieldMaximumLength else {
                throw KeyFileError.invalidInput("unknown-field", "extra header field 0x\(String(field.type, radix: 16)) is longer than \(HeaderField.unknownFieldMaximumLength) bytes")
            }
        }
        guard Set(unknownFields.map(\.type)).count == unknownFields.count else {
            throw KeyFileError.invalidInput("unknown-field", "extra header fields must be distinct")
        }
    }

    static func checkText(_ text: String, field: HeaderField, allowEmpty: Bool) throws {
        let count = text.utf8.count
        guard (allowEmpty || count > 0), count <= field.maximumLength else {
            throw KeyFileError.invalidInput("\(field)", "the \(field) must be \(allowEmpty ? 0 : 1) to \(field.maximumLength) bytes of UTF-8")
        }
        // No control, bidi or line/paragraph-separator character: auditors read these strings
        // without the password in `keytool inspect`, and a newline, an ESC sequence, a U+2028 or a
        // U+202E could forge or reorder the lines they see there.
        if let scalar = DisplayUnsafeScalars.first(in: text) {
            throw KeyFileError.invalidInput("\(field)", "the \(field) contains \(DisplayUnsafeScalars.codePoint(scalar)) (\(Self.unsafeKind(scalar))), which could falsify printed output")
        }
    }

    /// What kind of display-unsafe character `scalar` is, for messages.
    static func unsafeKind(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x2028, 0x2029: return "a line or paragraph separator"
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return "a bidi control"
        case 0xFEFF: return "an invisible byte-order mark"
        default: return "a control character"
        }
    }
}

// MARK: - Decoding

extension KeyFileHeader {
    /// Parses the header fields strictly: canonical order, exact lengths, every cap, every
    /// invariant. Structural problems are `corrupted`; unknown critical fields `unsupported`.
    init(fields bytes: ArraySlice<UInt8>, majorVersion: UInt8, minorVersion: UInt8) throws {
        var cursor = ByteCursor(bytes)
        // Indexed by field number: the registry is small and dense, and this runs once per file of
        // a `verify --recursive` (no hashing, no dictionary allocation).
        var values = [ArraySlice<UInt8>?](repeating: nil, count: HeaderField.numberLimit)
        var unknown: [UnknownHeaderField] = []
        var previousNumber: UInt16 = 0
        while !cursor.isAtEnd {
            let wireType = try cursor.readUInt16("a header field type")
            let number = wireType & ~HeaderField.criticalFlag
            let length = Int(try cursor.readUInt32("a header field length"))
            guard number > previousNumber else {
                throw KeyFileError.malformed(number == previousNumber ? "header field \(number) appears twice" : "header fields are out of order")
            }
            previousNumber = number
            guard let field = HeaderField(rawValue: number) else {
                guard wireType & HeaderField.criticalFlag == 0 else { throw KeyFileError.unsupportedCriticalField(wireType) }
                guard length <= HeaderField.unknownFieldMaximumLength else {
                    throw KeyFileError.malformed("unknown header field \(number) is longer than \(HeaderField.unknownFieldMaximumLength) bytes")
                }
                unknown.append(UnknownHeaderField(type: wireType, value: Array(try cursor.readBytes(length, "header field \(number)"))))
                continue
            }
            guard wireType == field.wireType else {
                throw KeyFileError.malformed("header field \(field) has the wrong critical flag")
            }
            guard length <= field.maximumLength else {
                throw KeyFileError.malformed("header field \(field) is \(length) bytes, more than its \(field.maximumLength)-byte limit")
            }
            values[Int(field.rawValue)] = try cursor.readBytes(length, "header field \(field)")
        }
        for field in HeaderField.allCases where field.isRequired && values[Int(field.rawValue)] == nil {
            throw KeyFileError.malformed("the required header field \(field) is missing")
        }
        func value(_ field: HeaderField) -> ArraySlice<UInt8> { values[Int(field.rawValue)] ?? [] }

        guard let keySetID = UUID(bytes: value(.keySetID)) else { throw KeyFileError.malformed("the key-set ID must be 16 bytes") }
        var createdCursor = ByteCursor(value(.createdAt))
        let createdAt = try createdCursor.readInt64("the creation time")
        try createdCursor.expectEnd("the creation time")
        let sourceServer = try Self.text(value(.sourceServer), field: .sourceServer, allowEmpty: false)
        let accountText = try Self.text(value(.account), field: .account, allowEmpty: false)
        // Compare the bytes: String == is canonical equivalence and would accept an NFD spelling.
        guard let account = try? ServiceAccount(accountText), account.canonical.utf8.elementsEqual(accountText.utf8) else {
            throw KeyFileError.malformed("the account name is not in canonical (normalized) form")
        }
        let (kdf, salt) = try Self.decodeKDF(value(.kdf))
        var cipherCursor = ByteCursor(value(.cipher))
        let cipherID = try cipherCursor.readUInt8("the cipher identifier")
        guard cipherID == 1 else { throw KeyFileError.unsupportedAlgorithm("cipher", cipherID) }
        let nonce = Array(try cipherCursor.readBytes(AES256GCM.nonceSize, "the payload nonce"))
        try cipherCursor.expectEnd("the cipher field")
        let keys = try Self.decodeKeyIndex(value(.keyIndex))
        let comment = try values[Int(HeaderField.comment.rawValue)].map { try Self.text($0, field: .comment, allowEmpty: true) }
        let generation = try values[Int(HeaderField.generation.rawValue)].map(Self.decodeGeneration) ?? 1

        self.init(keySetID: keySetID, createdAt: createdAt, sourceServer: sourceServer, account: account,
                  kdf: kdf, salt: salt, nonce: nonce, keys: keys, comment: comment)
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
        self.generation = generation
        self.unknownFields = unknown
    }

    private static func text(_ bytes: ArraySlice<UInt8>, field: HeaderField, allowEmpty: Bool) throws -> String {
        // Through a buffer pointer: the generic ArraySlice path validates scalar by scalar (slow).
        guard let text = bytes.withUnsafeBufferPointer({ String(validating: $0, as: UTF8.self) }) else {
            throw KeyFileError.malformed("the \(field) is not valid UTF-8")
        }
        do { try checkText(text, field: field, allowEmpty: allowEmpty) } catch let error as KeyFileError {
            // The same rule as the writer's, reported as what it is here: a file no conforming
            // writer produces (corrupted.structure), with the writer's specific reason.
            throw KeyFileError.malformed(error.message)
        }
        return text
    }

    /// The generation field: exactly a u32 of at least 2 (generation 1 is written as no field, so
    /// an explicit 1 is non-canonical).
    private static func decodeGeneration(_ bytes: ArraySlice<UInt8>) throws -> UInt32 {
        var cursor = ByteCursor(bytes)
        let generation = try cursor.readUInt32("the key-set generation")
        try cursor.expectEnd("the key-set generation")
        guard generation >= 2 else {
            throw KeyFileError.malformed("the key-set generation field holds \(generation); generation 1 is written as no field")
        }
        return generation
    }

    private static func decodeKDF(_ bytes: ArraySlice<UInt8>) throws -> (KDFParameters, [UInt8]) {
        var cursor = ByteCursor(bytes)
        let kdf: KDFParameters
        switch try cursor.readUInt8("the KDF identifier") {
        case 1:
            let logN = try cursor.readUInt8("scrypt logN")
            let r = try cursor.readUInt32("scrypt r")
            let p = try cursor.readUInt32("scrypt p")
            kdf = .scrypt(logN: logN, r: r, p: p)
        case 2:
            kdf = .pbkdf2SHA256(iterations: try cursor.readUInt32("PBKDF2 iterations"))
        case let other:
            throw KeyFileError.unsupportedAlgorithm("KDF", other)
        }
        let salt = Array(try cursor.readBytes(saltSize, "the KDF salt"))
        try cursor.expectEnd("the KDF field")
        return (kdf, salt)
    }

    /// Format section 4.4, checks in its order: count, length, then entry by entry ID (non-zero
    /// and ascending), algorithm, status, flags, and the primary after the last entry. The order
    /// decides which code a file with several faults gets (an ID of 0 beside an unknown
    /// algorithm is `corrupted.structure`).
    private static func decodeKeyIndex(_ bytes: ArraySlice<UInt8>) throws -> [KeyDescriptor] {
        var cursor = ByteCursor(bytes)
        let count = Int(try cursor.readUInt16("the key count"))
        guard count >= 1 else { throw KeyFileError.malformed("the key index holds no key") }
        guard cursor.remaining == count * indexEntrySize else {
            throw KeyFileError.malformed("the key index declares \(count) keys but holds \(cursor.remaining) bytes")
        }
        var keys: [KeyDescriptor] = []
        keys.reserveCapacity(count)
        var previousID: UInt32 = 0
        for _ in 0..<count {
            let rawID = try cursor.readUInt32("a key ID")
            guard rawID > previousID else {
                throw KeyFileError.malformed(rawID == 0 ? "key ID 0 is reserved" : "key ID \(rawID) does not ascend (after \(previousID))")
            }
            previousID = rawID
            let id = KeyID(rawValue: rawID)
            let algorithmID = try cursor.readUInt8("a key algorithm")
            guard let algorithm = KeyAlgorithm(rawValue: algorithmID) else { throw KeyFileError.unsupportedAlgorithm("key algorithm", algorithmID) }
            let statusID = try cursor.readUInt8("a key status")
            guard let status = KeyStatus(rawValue: statusID) else { throw KeyFileError.malformed("key \(id) has unknown status \(statusID)") }
            let flags = try cursor.readUInt8("key flags")
            guard flags <= 1 else { throw KeyFileError.malformed("key \(id) has reserved flag bits set") }
            let createdAt = try cursor.readInt64("a key creation time")
            keys.append(KeyDescriptor(id: id, algorithm: algorithm, status: status, createdAt: createdAt, isPrimary: flags == 1))
        }
        do { try KeySet.validate(keys) } catch let error as KeyFileError {
            throw KeyFileError.malformed("the key index is invalid: \(error.message)")
        }
        return keys
    }
}
