import Foundation
@testable import KeyFile
import ToolSupport

// MARK: - Manifest

/// `Vectors/manifest.json`: every sample file with the credentials to try and the expected outcome.
struct VectorManifest: Codable, Equatable {
    var format: String
    var seed: String
    var entries: [VectorEntry]
}

struct VectorEntry: Codable, Equatable {
    /// Unique name of this check.
    var name: String
    /// The sample file, relative to `Vectors/`.
    var file: String
    var description: String
    /// The account as a user would type it (normalized by the reader).
    var account: String
    /// The password as given (possibly not in NFC; the reader normalizes it).
    var password: String
    /// The password's bytes after NFC normalization, as lowercase hex: what the KDF sees.
    var passwordNFCHex: String
    /// `standard` or `allowWeak`.
    var policy: String
    /// What the reader does: absent or `open` (open with the credentials), or `inspect` (read the
    /// header without a password, format section 7; a failing checksum is `corrupted.checksum`).
    var operation: String? = nil
    /// When present, the password is these raw bytes (lowercase hex) as read from a password file
    /// or standard input, to which the line rule of format section 5.1 applies; `password` then
    /// shows them as text.
    var passwordInputHex: String? = nil
    var expected: VectorExpectation
}

struct VectorExpectation: Codable, Equatable {
    /// `success` or `error`.
    var outcome: String
    var keySetID: String?
    var fingerprint: String?
    var keys: [VectorKey]?
    /// The key-set generation where it is not 1 (a file without the generation field is generation 1).
    var generation: UInt32?
    /// For errors: the category, the stable code and the tools' exit status.
    var category: String?
    var code: String?
    var exitCode: Int32?

    static func success(_ keySet: KeySet) -> Self {
        VectorExpectation(
            outcome: "success", keySetID: keySet.id.uuidString.lowercased(), fingerprint: keySet.fingerprint,
            keys: keySet.keys.map {
                VectorKey(id: $0.id.rawValue, algorithm: $0.descriptor.algorithm.description, status: $0.descriptor.status.description,
                          primary: $0.descriptor.isPrimary, createdAt: $0.descriptor.createdAt, checkValue: $0.checkValueHex)
            },
            generation: keySet.generation == 1 ? nil : keySet.generation)
    }

    static func failure(_ category: KeyFileError.Category, _ code: String) -> Self {
        VectorExpectation(outcome: "error", category: category.rawValue, code: "\(category.rawValue).\(code)", exitCode: ExitCodes.status(forClass: category.rawValue))
    }
}

struct VectorKey: Codable, Equatable {
    var id: UInt32
    var algorithm: String
    var status: String
    var primary: Bool
    var createdAt: Int64
    var checkValue: String
}

// MARK: - Raw file surgery (for crafting bad files)

/// A key file taken apart without any validation, to be edited and put back together with a
/// correct whole-file checksum.
struct RawKeyFile {
    var magic: [UInt8]
    var major: UInt8
    var minor: UInt8
    var fields: [(type: UInt16, value: [UInt8])]
    var mac: [UInt8]
    var payload: [UInt8]
    var trailer: [UInt8] = []

    init(_ bytes: [UInt8]) {
        func u32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        magic = Array(bytes[0..<12])
        major = bytes[12]
        minor = bytes[13]
        let headerLength = u32(14)
        var offset = 18
        fields = []
        while offset < 18 + headerLength {
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = u32(offset + 2)
            fields.append((type, Array(bytes[offset + 6..<offset + 6 + length])))
            offset += 6 + length
        }
        mac = Array(bytes[offset..<offset + 32])
        let payloadLength = u32(offset + 32)
        payload = Array(bytes[offset + 36..<offset + 36 + payloadLength])
    }

    func index(of number: UInt16) -> Int { fields.firstIndex { $0.type & 0x7fff == number }! }

    /// Preamble plus header: what the MAC and the AEAD cover.
    var prefix: [UInt8] {
        var writer = ByteWriter()
        writer.write(magic)
        writer.write(major)
        writer.write(minor)
        var header = ByteWriter()
        for field in fields {
            header.write(field.type)
            header.write(UInt32(field.value.count))
            header.write(field.value)
        }
        writer.write(UInt32(header.bytes.count))
        writer.write(header.bytes)
        return writer.bytes
    }

    /// The file with a freshly computed checksum.
    func assembled() throws -> [UInt8] {
        var writer = ByteWriter()
        writer.write(prefix)
        writer.write(mac)
        writer.write(UInt32(payload.count))
        writer.write(payload)
        writer.write(trailer)
        writer.write(try SHA256.hash(writer.bytes))
        return writer.bytes
    }
}

// MARK: - Generator

/// Rebuilds every sample file deterministically from ``seed``: all "random" inputs (key-set IDs,
/// key material, salts, nonces) are HKDF-SHA-256(seed, info: label) instead of CSPRNG output.
enum VectorGenerator {
    static let seed = "miis-keyfile test vectors v1"
    static let createdAt: Int64 = 1_764_000_000  // 2025-11-24T16:00:00Z
    static let server = "sync1.corp.example"

    static func bytes(_ label: String, _ count: Int) throws -> [UInt8] {
        try HKDFSHA256.deriveKey(from: SecureBytes(Array(seed.utf8)), info: Array(label.utf8), count: count).unsafeCopyToArray()
    }

    struct KeySpec {
        var id: UInt32
        var algorithm: KeyAlgorithm = .aes256GCM
        var status: KeyStatus = .active
        var primary = false
    }

    struct Built {
        var bytes: [UInt8]
        var file: KeyFile
        var credentials: Credentials
    }

    static func keySet(_ label: String, _ specs: [KeySpec], id fixedID: [UInt8]? = nil, keyCreatedAt: Int64? = nil, generation: UInt32 = 1) throws -> KeySet {
        var id = try bytes("\(label)/key-set-id", 16)
        id[6] = 0x40 | (id[6] & 0x0f)  // shaped like a version-4 UUID
        id[8] = 0x80 | (id[8] & 0x3f)
        let keys = try specs.map { spec in
            try Key(
                descriptor: KeyDescriptor(id: KeyID(rawValue: spec.id), algorithm: spec.algorithm, status: spec.status,
                                          createdAt: keyCreatedAt ?? 1_700_000_000 + Int64(spec.id % 1_000_000), isPrimary: spec.primary),
                material: SecureBytes(try bytes("\(label)/key/\(spec.id)", 32)))
        }
        return try KeySet(id: UUID(bytes: fixedID ?? id)!, keys: keys, generation: generation)
    }

    static func build(
        _ label: String, account: String, password: String, kdf: KDFParameters,
        keys: [KeySpec] = [KeySpec(id: 1, primary: true)], comment: String? = nil,
        minorVersion: UInt8 = 0, unknownFields: [UnknownHeaderField] = [],
        keySetID: [UInt8]? = nil, createdAt fileCreatedAt: Int64 = createdAt, keyCreatedAt: Int64? = nil, generation: UInt32 = 1
    ) throws -> Built {
        let keySet = try keySet(label, keys, id: keySetID, keyCreatedAt: keyCreatedAt, generation: generation)
        let credentials = Credentials(account: try ServiceAccount(account), password: try Password(password))
        var header = KeyFileHeader(
            keySetID: keySet.id, createdAt: fileCreatedAt, sourceServer: server, account: credentials.account, kdf: kdf,
            salt: try bytes("\(label)/salt", KeyFileHeader.saltSize), nonce: try bytes("\(label)/nonce", AES256GCM.nonceSize),
            keys: keySet.descriptors, comment: comment)
        header.minorVersion = minorVersion
        header.generation = generation
        header.unknownFields = unknownFields
        let file = try KeyFile(header: header, keySet: keySet)
        return Built(bytes: try file.serialized(with: credentials), file: file, credentials: credentials)
    }

    static func entry(
        _ name: String, file: String, _ description: String, account: String, password: String,
        policy: KDFParameters.Policy = .allowWeak, operation: String? = nil, _ expected: VectorExpectation
    ) -> VectorEntry {
        VectorEntry(
            name: name, file: file, description: description, account: account, password: password,
            passwordNFCHex: Array(UnicodeNormalization.nfc(password).utf8).hexString,
            policy: policy == .standard ? "standard" : "allowWeak", operation: operation, expected: expected)
    }

    /// An entry whose password is read from raw bytes (a password file or standard input).
    /// `passwordNFCHex` is what the KDF sees, empty when the input is refused.
    static func passwordInputEntry(
        _ name: String, file: String, _ description: String, account: String, input: [UInt8], _ expected: VectorExpectation
    ) -> VectorEntry {
        let password = (try? Password(utf8: SecureBytes(input)))?.bytes.unsafeCopyToArray().hexString ?? ""
        return VectorEntry(
            name: name, file: file, description: description, account: account, password: String(decoding: input, as: UTF8.self),
            passwordNFCHex: password, policy: "allowWeak", passwordInputHex: input.hexString, expected: expected)
    }

    /// All files (name to bytes) and the manifest describing them.
    static func generate() throws -> (files: [String: [UInt8]], manifest: VectorManifest) {
        var files: [String: [UInt8]] = [:]
        var entries: [VectorEntry] = []
        let weak = KDFParameters.scrypt(logN: 10, r: 8, p: 1)

        // Valid files.
        let scryptFloor = try build("scrypt-floor", account: "CORP\\Sync", password: "correct horse battery staple",
                                    kdf: .scrypt(logN: 15, r: 8, p: 1))
        files["scrypt-floor.bin"] = scryptFloor.bytes
        entries.append(entry("scrypt-floor", file: "scrypt-floor.bin", "scrypt at the floor (logN=15, r=8, p=1), one key, opened under the standard policy",
                             account: "CORP\\Sync", password: "correct horse battery staple", policy: .standard,
                             .success(scryptFloor.file.keySet)))

        let nonASCIIPassword = "Grüße, Jörg! 東京 ☃"
        let pbkdf2Floor = try build("pbkdf2-floor", account: "MÜNCHEN\\Jörg", password: nonASCIIPassword,
                                    kdf: .pbkdf2SHA256(iterations: 310_000), comment: "Schlüssel für den Standby")
        files["pbkdf2-floor.bin"] = pbkdf2Floor.bytes
        entries.append(entry("pbkdf2-floor", file: "pbkdf2-floor.bin",
                             "PBKDF2-HMAC-SHA256 at the floor (310000 iterations), non-ASCII account and password (NFC), a comment",
                             account: "MÜNCHEN\\Jörg", password: nonASCIIPassword, policy: .standard, .success(pbkdf2Floor.file.keySet)))
        entries.append(entry("pbkdf2-floor-nfd-password", file: "pbkdf2-floor.bin",
                             "the same file opened with the password and account typed in NFD (decomposed) and other case: normalization makes them equal",
                             account: "mu\u{308}nchen\\JO\u{308}RG", password: "Gru\u{308}ße, Jo\u{308}rg! 東京 ☃", policy: .standard,
                             .success(pbkdf2Floor.file.keySet)))
        entries.append(entry("pbkdf2-floor-wrong-account", file: "pbkdf2-floor.bin", "right password, different account: refused before any derivation",
                             account: "MÜNCHEN\\Joerg", password: nonASCIIPassword, policy: .standard, .failure(.wrongCredentials, "account")))

        let scryptWeak = try build("scrypt-weak", account: "\\Sync", password: "password", kdf: weak)
        files["scrypt-weak.bin"] = scryptWeak.bytes
        entries.append(entry("scrypt-weak-standard", file: "scrypt-weak.bin", "scrypt logN=10 is below the floor: refused under the standard policy",
                             account: "sync", password: "password", policy: .standard, .failure(.parametersOutOfBounds, "weak")))
        entries.append(entry("scrypt-weak-allowed", file: "scrypt-weak.bin", "the same file opens when weak parameters are allowed; account stored as 'sync'",
                             account: "\\Sync", password: "password", .success(scryptWeak.file.keySet)))
        entries.append(entry("scrypt-weak-account-spelling", file: "scrypt-weak.bin", "'SYNC' normalizes to the stored account 'sync'",
                             account: "SYNC", password: "password", .success(scryptWeak.file.keySet)))
        entries.append(entry("wrong-password", file: "scrypt-weak.bin", "wrong password: the header MAC does not match",
                             account: "sync", password: "Password", .failure(.wrongCredentials, "header-mac")))
        entries.append(entry("wrong-account", file: "scrypt-weak.bin", "a domain account is not the local one: wrong credentials",
                             account: "CORP\\Sync", password: "password", .failure(.wrongCredentials, "account")))

        let multi = try build("multi-key", account: "CORP\\Sync", password: "multi-key password", kdf: weak, keys: [
            KeySpec(id: 1, status: .retired),
            KeySpec(id: 2, algorithm: .hmacSHA256, status: .disabled),
            KeySpec(id: 7, status: .active, primary: true),
            KeySpec(id: 100, algorithm: .hmacSHA256, status: .active),
            KeySpec(id: UInt32.max, status: .retired),
        ], comment: "five keys: retired, disabled, active primary, active, retired")
        files["multi-key.bin"] = multi.bytes
        entries.append(entry("multi-key", file: "multi-key.bin", "five keys with sparse IDs up to 2^32-1, both algorithms, retired and disabled keys, primary key 7",
                             account: "corp\\sync", password: "multi-key password", .success(multi.file.keySet)))

        let future = try build("unknown-noncritical", account: "CORP\\Sync", password: "future", kdf: weak, minorVersion: 3,
                               unknownFields: [UnknownHeaderField(type: 0x0042, value: Array("written by a future minor version".utf8))])
        files["unknown-noncritical.bin"] = future.bytes
        entries.append(entry("unknown-noncritical", file: "unknown-noncritical.bin",
                             "version 1.3 with an unknown non-critical field 0x0042: opens, and rewriting it reproduces the file byte for byte",
                             account: "CORP\\Sync", password: "future", .success(future.file.keySet)))

        // Crafted files: byte-level edits with the checksum recomputed.
        var raw = RawKeyFile(future.bytes)
        raw.fields[raw.index(of: 0x42)].type = 0x8042
        files["unknown-critical.bin"] = try raw.assembled()
        entries.append(entry("unknown-critical", file: "unknown-critical.bin", "an unknown critical field 0x8042: unsupported",
                             account: "CORP\\Sync", password: "future", .failure(.unsupported, "critical-field")))

        raw = RawKeyFile(scryptWeak.bytes)
        raw.major = 2
        files["version-2.bin"] = try raw.assembled()
        entries.append(entry("version-2", file: "version-2.bin", "major version 2 with a valid checksum: unsupported",
                             account: "sync", password: "password", .failure(.unsupported, "version")))

        raw = RawKeyFile(scryptWeak.bytes)
        raw.fields[raw.index(of: 5)].value.replaceSubrange(1..<6, with: [20, 0, 0, 0, 16])
        files["scrypt-ceiling.bin"] = try raw.assembled()
        entries.append(entry("scrypt-ceiling", file: "scrypt-ceiling.bin",
                             "scrypt logN=20 r=16 needs 2 GiB, over the 1 GiB ceiling: refused before deriving, even when weak parameters are allowed",
                             account: "sync", password: "password", .failure(.parametersOutOfBounds, "ceiling")))

        raw = RawKeyFile(pbkdf2Floor.bytes)
        raw.fields[raw.index(of: 5)].value.replaceSubrange(1..<5, with: [0x00, 0x98, 0x96, 0x81])  // 10,000,001
        files["pbkdf2-ceiling.bin"] = try raw.assembled()
        entries.append(entry("pbkdf2-ceiling", file: "pbkdf2-ceiling.bin", "PBKDF2 with 10000001 iterations, over the ceiling: refused before deriving",
                             account: "MÜNCHEN\\Jörg", password: nonASCIIPassword, .failure(.parametersOutOfBounds, "ceiling")))

        raw = RawKeyFile(scryptWeak.bytes)
        raw.payload[3] ^= 0x40
        files["tampered-payload.bin"] = try raw.assembled()
        entries.append(entry("tampered-payload", file: "tampered-payload.bin",
                             "one ciphertext bit flipped and the checksum recomputed: the header MAC holds, AES-GCM fails",
                             account: "sync", password: "password", .failure(.tampered, "payload")))

        files["forged-check-value.bin"] = try forgedCheckValue(multi)
        entries.append(entry("forged-check-value", file: "forged-check-value.bin",
                             "a forger with the password re-encrypted the payload with a wrong check value for key 100: decrypts, then fails the check",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.tampered, "payload")))

        var mangled = scryptWeak.bytes
        mangled.remove(at: 8)  // CR LF -> LF, as a text-mode transfer would do
        files["bad-magic.bin"] = mangled
        entries.append(entry("bad-magic", file: "bad-magic.bin", "text-mode transfer turned the magic's CR LF into LF",
                             account: "sync", password: "password", .failure(.corrupted, "magic")))

        files["truncated.bin"] = Array(scryptWeak.bytes.prefix(64))
        entries.append(entry("truncated", file: "truncated.bin", "the first 64 bytes only",
                             account: "sync", password: "password", .failure(.corrupted, "truncated")))

        var flipped = multi.bytes
        flipped[40] ^= 0x08
        files["checksum-mismatch.bin"] = flipped
        entries.append(entry("checksum-mismatch", file: "checksum-mismatch.bin", "one header bit flipped, checksum not recomputed",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.corrupted, "checksum")))

        raw = RawKeyFile(scryptWeak.bytes)
        raw.fields.insert(raw.fields[1], at: 2)
        files["duplicate-field.bin"] = try raw.assembled()
        entries.append(entry("duplicate-field", file: "duplicate-field.bin", "the creation-time field (2) appears twice",
                             account: "sync", password: "password", .failure(.corrupted, "structure")))

        raw = RawKeyFile(scryptWeak.bytes)
        raw.fields.swapAt(0, 1)
        files["out-of-order.bin"] = try raw.assembled()
        entries.append(entry("out-of-order", file: "out-of-order.bin", "fields 1 and 2 swapped",
                             account: "sync", password: "password", .failure(.corrupted, "structure")))

        raw = RawKeyFile(multi.bytes)
        raw.fields[raw.index(of: 7)].value[2 + 3 * KeyFileHeader.indexEntrySize + 6] = 1  // key 100 flagged primary too
        files["two-primaries.bin"] = try raw.assembled()
        entries.append(entry("two-primaries", file: "two-primaries.bin", "keys 7 and 100 both flagged primary in the key index",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.corrupted, "structure")))

        raw = RawKeyFile(multi.bytes)
        raw.fields[raw.index(of: 7)].value.replaceSubrange(2..<6, with: [0, 0, 0, 0])
        files["zero-key-id.bin"] = try raw.assembled()
        entries.append(entry("zero-key-id", file: "zero-key-id.bin", "the first key's ID is 0 (reserved)",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.corrupted, "structure")))

        raw = RawKeyFile(scryptWeak.bytes)
        raw.trailer = [0, 0, 0, 0]
        files["trailing-bytes.bin"] = try raw.assembled()
        entries.append(entry("trailing-bytes", file: "trailing-bytes.bin", "four bytes between the payload and the checksum",
                             account: "sync", password: "password", .failure(.corrupted, "structure")))

        // Text that could make printed output lie (section 4.2): refused like a control character.
        raw = RawKeyFile(multi.bytes)
        raw.fields[raw.index(of: 8)].value = Array("five keys\u{2028}checksum ok (authenticated)".utf8)
        files["line-separator-comment.bin"] = try raw.assembled()
        entries.append(entry("line-separator-comment", file: "line-separator-comment.bin",
                             "the comment holds U+2028 LINE SEPARATOR, which starts a fake line in viewers that honour it",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.corrupted, "structure")))

        raw = RawKeyFile(multi.bytes)
        raw.fields[raw.index(of: 3)].value = Array("sync1\u{202E}nib.ved".utf8)
        files["bidi-source-server.bin"] = try raw.assembled()
        entries.append(entry("bidi-source-server", file: "bidi-source-server.bin",
                             "the source server holds U+202E RIGHT-TO-LEFT OVERRIDE, which reverses what follows it on screen",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.corrupted, "structure")))

        // The key-set generation (field 9, section 4.5): a key set rotated twice.
        let rotated = try build("generation-3", account: "CORP\\Sync", password: "rotated twice", kdf: weak, keys: [
            KeySpec(id: 1, status: .retired),
            KeySpec(id: 2, status: .active, primary: true),
        ], generation: 3)
        files["generation-3.bin"] = rotated.bytes
        entries.append(entry("generation-3", file: "generation-3.bin",
                             "key-set generation 3 in the non-critical field 9: key 1 retired, key 2 primary",
                             account: "CORP\\Sync", password: "rotated twice", .success(rotated.file.keySet)))

        raw = RawKeyFile(rotated.bytes)
        raw.fields[raw.index(of: 9)].value = [0, 0, 0, 1]
        files["generation-one-explicit.bin"] = try raw.assembled()
        entries.append(entry("generation-one-explicit", file: "generation-one-explicit.bin",
                             "field 9 holds 1: generation 1 is written as the field's absence, so this is non-canonical",
                             account: "CORP\\Sync", password: "rotated twice", .failure(.corrupted, "structure")))
        // Section 4.5, the field's checks in order: critical flag and cap while walking, then the exact length.
        let generationEdits: [(String, String, (inout (type: UInt16, value: [UInt8])) -> Void)] = [
            ("generation-critical-flag", "field 9 carries the critical flag (0x8009): a registered field's flag must be the registry's", { $0.type = 0x8009 }),
            ("generation-over-cap", "field 9 is 5 bytes, over its cap of 4", { $0.value = [0, 0, 0, 0, 3] }),
            ("generation-short", "field 9 is 3 bytes (within its cap, short): refused when its value is decoded", { $0.value = [0, 0, 3] }),
        ]
        for (name, description, edit) in generationEdits {
            raw = RawKeyFile(rotated.bytes)
            edit(&raw.fields[raw.index(of: 9)])
            files["\(name).bin"] = try raw.assembled()
            entries.append(entry(name, file: "\(name).bin", description, account: "CORP\\Sync", password: "rotated twice", .failure(.corrupted, "structure")))
        }

        // Issue 14: one vector per rule a stranger could get wrong. Section numbers are the format's.

        // Section 7, step 0: the credentials are checked before the file is read.
        entries.append(entry("invalid-account-before-file", file: "bad-magic.bin",
                             "an invalid account (two '\\') is reported before the file is read, even a file that is not a key file",
                             account: "a\\b\\c", password: "password", .failure(.invalidInput, "account")))
        entries.append(entry("empty-password-before-file", file: "truncated.bin",
                             "an empty password is reported before the file is read",
                             account: "sync", password: "", .failure(.invalidInput, "password")))

        // Section 7, step 1: the size is checked before the magic.
        files["oversized-bad-magic.bin"] = [UInt8](repeating: 0, count: SealedKeyFile.maximumSize + 1)
        entries.append(entry("oversized-bad-magic", file: "oversized-bad-magic.bin",
                             "8 MiB + 1 zero bytes: the size is checked before the magic, so this is corrupted.size, not corrupted.magic",
                             account: "sync", password: "password", .failure(.corrupted, "size")))

        // Section 7, inspect: damage reads as damage even when the damaged bytes parse as something newer.
        entries.append(entry("inspect-checksum-mismatch", file: "checksum-mismatch.bin",
                             "inspect (no password): the flipped bit turns field 2's type into unknown critical field 0x8802, but a failing checksum is corrupted.checksum whatever the damaged bytes say",
                             account: "CORP\\Sync", password: "multi-key password", operation: "inspect", .failure(.corrupted, "checksum")))
        raw = RawKeyFile(scryptWeak.bytes)
        raw.major = 2
        var damagedVersion = try raw.assembled()
        damagedVersion[damagedVersion.count - 1] ^= 0x01
        files["version-2-checksum-mismatch.bin"] = damagedVersion
        entries.append(entry("inspect-version-2-checksum-mismatch", file: "version-2-checksum-mismatch.bin",
                             "inspect: major version 2 and a failing checksum: damage (corrupted.checksum), not unsupported.version",
                             account: "sync", password: "password", operation: "inspect", .failure(.corrupted, "checksum")))

        // Section 5.1: a password read from a file or standard input is one line.
        let lines: [(String, String, [UInt8], VectorExpectation)] = [
            ("password-input-lf", "one final LF is removed", Array("password\n".utf8), .success(scryptWeak.file.keySet)),
            ("password-input-crlf", "one final CR LF is removed", Array("password\r\n".utf8), .success(scryptWeak.file.keySet)),
            ("password-input-no-newline", "input without a final line ending is the password as it is", Array("password".utf8), .success(scryptWeak.file.keySet)),
            ("password-input-two-newlines", "a second final LF is a second (empty) line: refused, not taken as part of the password nor dropped",
             Array("password\n\n".utf8), .failure(.invalidInput, "password")),
            ("password-input-two-lines", "two lines: refused rather than cut at the first", Array("password\nline2\n".utf8), .failure(.invalidInput, "password")),
            ("password-input-lone-cr", "a lone final CR is a line break too: refused", Array("password\r".utf8), .failure(.invalidInput, "password")),
            ("password-input-inner-cr", "a CR inside the line: refused", Array("pass\rword\n".utf8), .failure(.invalidInput, "password")),
        ]
        for (name, description, input, expected) in lines {
            entries.append(passwordInputEntry(name, file: "scrypt-weak.bin", description, account: "sync", input: input, expected))
        }
        entries.append(entry("password-keeps-spaces", file: "scrypt-weak.bin",
                             "leading and trailing spaces are part of the password (nothing but one final line ending is removed)",
                             account: "sync", password: " password ", .failure(.wrongCredentials, "header-mac")))

        // Section 5.2, step 1: exactly TAB and the Zs code points are trimmed.
        entries.append(entry("account-trimmed-spaces", file: "scrypt-weak.bin",
                             "TAB, SPACE, U+3000 IDEOGRAPHIC SPACE and U+00A0 NO-BREAK SPACE around the name are trimmed",
                             account: "\t \u{3000}Sync\u{A0}", password: "password", .success(scryptWeak.file.keySet)))
        entries.append(entry("account-zero-width-space", file: "scrypt-weak.bin",
                             "U+200B ZERO WIDTH SPACE is not trimmed (it is not Zs): an invisible character in a name is refused",
                             account: "\u{200B}sync", password: "password", .failure(.invalidInput, "account")))
        entries.append(entry("account-byte-order-mark", file: "scrypt-weak.bin",
                             "U+FEFF (byte-order mark, zero width no-break space) is refused in a name, not trimmed",
                             account: "\u{FEFF}sync", password: "password", .failure(.invalidInput, "account")))
        // Section 5.2, step 4: "white space" is the Unicode White_Space property, per code point.
        entries.append(entry("account-white-space-before-separator", file: "multi-key.bin",
                             "U+2007 FIGURE SPACE (White_Space) at the end of the domain part is refused",
                             account: "CORP\u{2007}\\Sync", password: "multi-key password", .failure(.invalidInput, "account")))

        // Section 5.2, step 1: the default full lowercase mapping of each code point, no context.
        let caseFile = try build("case-mapping", account: "ΣΑΣ\\İpek", password: "case mapping", kdf: weak)
        files["case-mapping.bin"] = caseFile.bytes
        entries.append(entry("case-mapping", file: "case-mapping.bin",
                             "account ΣΑΣ\\İpek is stored as σασ\\i̇pek: each Σ maps to σ (no Final_Sigma context) and İ to i + U+0307 (full mapping)",
                             account: "ΣΑΣ\\İPEK", password: "case mapping", .success(caseFile.file.keySet)))
        entries.append(entry("case-mapping-final-sigma", file: "case-mapping.bin",
                             "σας (final sigma, as context-sensitive lowercasing would give) is another account",
                             account: "σας\\i̇pek", password: "case mapping", .failure(.wrongCredentials, "account")))
        entries.append(entry("case-mapping-dotless", file: "case-mapping.bin",
                             "σασ\\ipek (plain i, as a simple or Turkish mapping would give for İ) is another account",
                             account: "σασ\\ipek", password: "case mapping", .failure(.wrongCredentials, "account")))
        raw = RawKeyFile(caseFile.bytes)
        raw.fields[raw.index(of: 4)].value = Array("σας\\i̇pek".utf8)
        files["final-sigma-account-field.bin"] = try raw.assembled()
        entries.append(entry("final-sigma-account-field", file: "final-sigma-account-field.bin",
                             "field 4 holds σας\\i̇pek, which is canonical (ς is already lowercase): ΣΑΣ\\İpek maps to σασ\\i̇pek, another account, refused before any derivation (a reader applying Final_Sigma would match it and fail the MAC instead)",
                             account: "ΣΑΣ\\İpek", password: "case mapping", .failure(.wrongCredentials, "account")))

        // Section 4.2: a byte-order mark in header text.
        raw = RawKeyFile(multi.bytes)
        raw.fields[raw.index(of: 3)].value = Array("\u{FEFF}sync1.corp.example".utf8)
        files["bom-source-server.bin"] = try raw.assembled()
        entries.append(entry("bom-source-server", file: "bom-source-server.bin",
                             "the source server begins with U+FEFF (a byte-order mark): refused like the other invisible or display-unsafe characters",
                             account: "CORP\\Sync", password: "multi-key password", .failure(.corrupted, "structure")))

        // Section 4, rule 2: caps of the fixed-length fields, checked while walking the fields.
        raw = RawKeyFile(scryptWeak.bytes)
        raw.fields[raw.index(of: 1)].value.append(0)
        files["key-set-id-over-cap.bin"] = try raw.assembled()
        entries.append(entry("key-set-id-over-cap", file: "key-set-id-over-cap.bin", "field 1 is 17 bytes, over its cap of 16",
                             account: "sync", password: "password", .failure(.corrupted, "structure")))
        raw = RawKeyFile(future.bytes)
        raw.fields[raw.index(of: 1)].value.removeLast()
        raw.fields[raw.index(of: 0x42)].type = 0x8042
        files["key-set-id-short-unknown-critical.bin"] = try raw.assembled()
        entries.append(entry("key-set-id-short-unknown-critical", file: "key-set-id-short-unknown-critical.bin",
                             "field 1 is 15 bytes (within its cap, short) and a later field is unknown and critical: the walk over the fields ends at the critical field before any value is decoded",
                             account: "CORP\\Sync", password: "future", .failure(.unsupported, "critical-field")))
        raw = RawKeyFile(future.bytes)
        raw.fields[raw.index(of: 1)].value.append(0)
        raw.fields[raw.index(of: 0x42)].type = 0x8042
        files["key-set-id-over-cap-unknown-critical.bin"] = try raw.assembled()
        entries.append(entry("key-set-id-over-cap-unknown-critical", file: "key-set-id-over-cap-unknown-critical.bin",
                             "field 1 is 17 bytes (over its cap) and a later field is unknown and critical: the cap is checked first, where field 1 is read",
                             account: "CORP\\Sync", password: "future", .failure(.corrupted, "structure")))

        // Section 4.3 and 4.1 field 6: algorithm ID, then exact length.
        let algorithmFields: [(String, UInt16, [UInt8], VectorExpectation, String)] = [
            ("kdf-unknown-id-short", 5, [3, 0, 0, 0, 0], .failure(.unsupported, "algorithm"), "field 5 holds KDF ID 3 in 5 bytes: the ID is checked before the length"),
            ("kdf-empty", 5, [], .failure(.corrupted, "structure"), "field 5 is empty: no ID to read"),
            ("kdf-scrypt-short", 5, [1, 15, 0, 0, 0, 8, 0, 0, 0, 1], .failure(.corrupted, "structure"), "field 5 holds scrypt (ID 1) in 10 bytes instead of 42"),
            ("cipher-unknown-id-short", 6, [2, 1, 2, 3], .failure(.unsupported, "algorithm"), "field 6 holds cipher ID 2 in 4 bytes: the ID is checked before the length"),
            ("cipher-empty", 6, [], .failure(.corrupted, "structure"), "field 6 is empty: no ID to read"),
        ]
        for (name, field, value, expected, description) in algorithmFields {
            raw = RawKeyFile(scryptWeak.bytes)
            raw.fields[raw.index(of: field)].value = value
            files["\(name).bin"] = try raw.assembled()
            entries.append(entry(name, file: "\(name).bin", description, account: "sync", password: "password", expected))
        }

        // Section 4.4: the key index's order of checks.
        func editedIndex(_ name: String, _ description: String, _ expected: VectorExpectation, _ edit: (inout [UInt8]) -> Void) throws {
            raw = RawKeyFile(multi.bytes)
            edit(&raw.fields[raw.index(of: 7)].value)
            files["\(name).bin"] = try raw.assembled()
            entries.append(entry(name, file: "\(name).bin", description, account: "CORP\\Sync", password: "multi-key password", expected))
        }
        let entrySize = KeyFileHeader.indexEntrySize
        try editedIndex("key-index-empty", "key count 0 (2 bytes): refused before anything else", .failure(.corrupted, "structure")) { $0 = [0, 0] }
        try editedIndex("key-index-length-before-entries", "count 5 but one byte short, and the first entry has an unknown algorithm: the length is checked before any entry",
                        .failure(.corrupted, "structure")) { $0.removeLast(); $0[2 + 4] = 9 }
        try editedIndex("key-index-zero-id-unknown-algorithm", "the first entry has ID 0 and algorithm 9: the ID is checked before the algorithm",
                        .failure(.corrupted, "structure")) { $0.replaceSubrange(2..<6, with: [0, 0, 0, 0]); $0[2 + 4] = 9 }
        try editedIndex("key-index-descending-unknown-algorithm", "the second entry's ID (1) is not above the first's (1) and its algorithm is 9: the ID is checked first",
                        .failure(.corrupted, "structure")) { $0.replaceSubrange((2 + entrySize)..<(2 + entrySize + 4), with: [0, 0, 0, 1]); $0[2 + entrySize + 4] = 9 }
        try editedIndex("key-index-unknown-algorithm-and-status", "an entry with algorithm 9 and status 9: the algorithm is checked before the status",
                        .failure(.unsupported, "algorithm")) { $0[2 + 4] = 9; $0[2 + 5] = 9 }
        try editedIndex("key-index-unknown-status-and-flags", "an entry with status 9 and reserved flag bits: the status is checked before the flags (both corrupted.structure)",
                        .failure(.corrupted, "structure")) { $0[2 + 5] = 9; $0[2 + 6] = 0x80 }
        try editedIndex("key-index-no-primary", "no entry is primary: checked after every entry",
                        .failure(.corrupted, "structure")) { $0[2 + 2 * entrySize + 6] = 0 }
        try editedIndex("key-index-retired-primary-unknown-algorithm", "the primary is retired and a later entry has algorithm 9: every entry is checked before the primary",
                        .failure(.unsupported, "algorithm")) { $0[2 + 2 * entrySize + 5] = 2; $0[2 + 4 * entrySize + 4] = 9 }

        // Section 2: headerLength within the file.
        raw = RawKeyFile(scryptWeak.bytes)
        var pastEnd = raw.prefix + raw.mac + [0, 0, 0, UInt8(raw.payload.count)] + raw.payload
        pastEnd.replaceSubrange(14..<18, with: [0x00, 0x1F, 0xFF, 0xFF])
        pastEnd += try SHA256.hash(pastEnd)
        files["header-length-past-end.bin"] = pastEnd
        entries.append(entry("header-length-past-end", file: "header-length-past-end.bin",
                             "headerLength 2,097,151 (within the 2 MiB cap) but past the end of the file",
                             account: "sync", password: "password", .failure(.corrupted, "structure")))

        // Section 4.1: any key-set ID and any time are accepted, the nil UUID and negative times included.
        let extremes = try build("nil-uuid-negative-times", account: "sync", password: "password", kdf: weak,
                                 keySetID: [UInt8](repeating: 0, count: 16), createdAt: -1, keyCreatedAt: Int64.min)
        files["nil-uuid-negative-times.bin"] = extremes.bytes
        entries.append(entry("nil-uuid-negative-times", file: "nil-uuid-negative-times.bin",
                             "the nil key-set UUID, a file created at -1 (1969-12-31T23:59:59Z) and a key created at -2^63: no UUID version and no time range is required",
                             account: "sync", password: "password", .success(extremes.file.keySet)))

        return (files, VectorManifest(format: "miis-keyfile test vectors, see docs/key-file-format.md", seed: seed, entries: entries))
    }

    /// What a forger who knows the password can do: re-encrypt a payload whose last key's check
    /// value is wrong, with a valid header MAC and GCM tag.
    static func forgedCheckValue(_ built: Built) throws -> [UInt8] {
        var raw = RawKeyFile(built.bytes)
        let prefix = raw.prefix
        let keys = try DerivedKeys(kdf: built.file.header.kdf, salt: built.file.header.salt, credentials: built.credentials)
        var plaintext = KeyFilePayload.encodeForTesting(built.file.keySet)
        plaintext[plaintext.count - 1 - 46] ^= 0x01  // last byte of key 100's check value (the 4th of 5 entries of 46 bytes)
        raw.mac = try keys.headerMAC(over: prefix[...])
        raw.payload = try AES256GCM.seal(plaintext, key: keys.payloadKey, nonce: built.file.header.nonce, associatedData: prefix)
        return try raw.assembled()
    }
}

extension KeyFilePayload {
    static func encodeForTesting(_ keySet: KeySet) -> [UInt8] {
        // encode() cannot fail for a valid key set; the SecureBytes copy is acceptable in tests.
        (try? encode(keySet))!.unsafeCopyToArray()
    }
}
