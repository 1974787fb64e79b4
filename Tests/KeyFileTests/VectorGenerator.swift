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

    static func keySet(_ label: String, _ specs: [KeySpec], generation: UInt32 = 1) throws -> KeySet {
        var id = try bytes("\(label)/key-set-id", 16)
        id[6] = 0x40 | (id[6] & 0x0f)  // shaped like a version-4 UUID
        id[8] = 0x80 | (id[8] & 0x3f)
        let keys = try specs.map { spec in
            try Key(
                descriptor: KeyDescriptor(id: KeyID(rawValue: spec.id), algorithm: spec.algorithm, status: spec.status,
                                          createdAt: 1_700_000_000 + Int64(spec.id % 1_000_000), isPrimary: spec.primary),
                material: SecureBytes(try bytes("\(label)/key/\(spec.id)", 32)))
        }
        return try KeySet(id: UUID(bytes: id)!, keys: keys, generation: generation)
    }

    static func build(
        _ label: String, account: String, password: String, kdf: KDFParameters,
        keys: [KeySpec] = [KeySpec(id: 1, primary: true)], comment: String? = nil,
        minorVersion: UInt8 = 0, unknownFields: [UnknownHeaderField] = [], generation: UInt32 = 1
    ) throws -> Built {
        let keySet = try keySet(label, keys, generation: generation)
        let credentials = Credentials(account: try ServiceAccount(account), password: try Password(password))
        var header = KeyFileHeader(
            keySetID: keySet.id, createdAt: createdAt, sourceServer: server, account: credentials.account, kdf: kdf,
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
        policy: KDFParameters.Policy = .allowWeak, _ expected: VectorExpectation
    ) -> VectorEntry {
        VectorEntry(
            name: name, file: file, description: description, account: account, password: password,
            passwordNFCHex: Array(password.precomposedStringWithCanonicalMapping.utf8).hexString,
            policy: policy == .standard ? "standard" : "allowWeak", expected: expected)
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
