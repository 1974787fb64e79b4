import Foundation
import Testing
@testable import KeyFile

/// The canonical-encoding rules of the header, one edit at a time on a valid file (checksum
/// recomputed so that the structure check itself is what refuses).
@Suite struct HeaderParsingTests {
    static func base() throws -> RawKeyFile { RawKeyFile(try TestVectorTests.load("scrypt-weak.bin")) }
    static func multi() throws -> RawKeyFile { RawKeyFile(try TestVectorTests.load("multi-key.bin")) }

    func code(_ raw: RawKeyFile) throws -> String? {
        let bytes = try raw.assembled()
        return keyFileError { try SealedKeyFile(bytes: bytes) }?.code.rawValue
    }

    @Test func unchangedFileParses() throws {
        #expect(try code(Self.base()) == nil)
        #expect(try code(Self.multi()) == nil)
    }

    @Test func wrongCriticalFlagOnAKnownField() throws {
        var raw = try Self.base()
        raw.fields[0].type = 0x0001  // key-set ID must be critical
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields[2].type = 0x8003  // source server must be non-critical
        #expect(try code(raw) == "corrupted.structure")
    }

    @Test func missingRequiredField() throws {
        for number: UInt16 in 1...7 {
            var raw = try Self.base()
            raw.fields.remove(at: raw.index(of: number))
            #expect(try code(raw) == "corrupted.structure", "without field \(number)")
        }
    }

    @Test func exactLengths() throws {
        var raw = try Self.base()
        raw.fields[raw.index(of: 1)].value.append(0)  // 17-byte key-set ID, over its cap
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields[raw.index(of: 1)].value.removeLast()  // 15-byte key-set ID
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields[raw.index(of: 2)].value.removeLast()
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields[raw.index(of: 6)].value.removeLast()  // 11-byte nonce
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields[raw.index(of: 7)].value.append(0)  // index longer than count·15
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        var kdf = raw.fields[raw.index(of: 5)].value
        kdf[0] = 2  // PBKDF2 id with a scrypt-sized value: 5 bytes left over
        raw.fields[raw.index(of: 5)].value = kdf
        #expect(try code(raw) == "corrupted.structure")
    }

    @Test func fieldLengthPastTheHeader() throws {
        var bytes = try Self.base().assembled()
        bytes[0x12 + 2 + 3] = 0xff  // key-set ID length 0x000000ff, past its cap
        bytes = Array(bytes.dropLast(32)) + (try SHA256.hash(Array(bytes.dropLast(32))))
        #expect(keyFileError { try SealedKeyFile(bytes: bytes) }?.code.rawValue == "corrupted.structure")
    }

    @Test func headerLengthBounds() throws {
        var bytes = Array(try TestVectorTests.load("scrypt-weak.bin").dropLast(32))
        bytes.replaceSubrange(14..<18, with: [0x00, 0x20, 0x00, 0x01])  // 2 MiB + 1
        bytes += try SHA256.hash(bytes)
        #expect(keyFileError { try SealedKeyFile(bytes: bytes) }?.code.rawValue == "corrupted.structure")
        bytes = Array(try TestVectorTests.load("scrypt-weak.bin").dropLast(32))
        bytes.replaceSubrange(14..<18, with: [0x00, 0x00, 0x10, 0x00])  // past the end of the file
        bytes += try SHA256.hash(bytes)
        #expect(keyFileError { try SealedKeyFile(bytes: bytes) }?.code.rawValue == "corrupted.structure")
    }

    @Test func unknownFields() throws {
        var raw = try Self.base()
        raw.fields.append((0x000A, [UInt8](repeating: 1, count: 4096)))  // 9 is the generation (registered)
        #expect(try code(raw) == nil)
        raw.fields[raw.fields.count - 1].value.append(1)  // 4097 bytes
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields.append((0x7fff, []))
        #expect(try code(raw) == nil)
        raw = try Self.base()
        raw.fields.append((0xffff, []))
        #expect(try code(raw) == "unsupported.critical-field")
        // Ordering is checked before criticality: an unknown critical field out of order is structure.
        raw = try Self.base()
        raw.fields.append((0x0020, []))
        raw.fields.append((0x8010, []))  // 16 after 32
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.fields.insert((0x0000, []), at: 0)  // field number 0
        #expect(try code(raw) == "corrupted.structure")
    }

    @Test func unknownAlgorithms() throws {
        var raw = try Self.base()
        raw.fields[raw.index(of: 5)].value[0] = 3
        #expect(try code(raw) == "unsupported.algorithm")
        raw = try Self.base()
        raw.fields[raw.index(of: 6)].value[0] = 2
        #expect(try code(raw) == "unsupported.algorithm")
        raw = try Self.base()
        raw.fields[raw.index(of: 7)].value[2 + 4] = 9  // key algorithm
        #expect(try code(raw) == "unsupported.algorithm")
    }

    @Test func keyIndexInvariants() throws {
        func edit(_ body: (inout [UInt8]) -> Void) throws -> String? {
            var raw = try Self.multi()
            body(&raw.fields[raw.index(of: 7)].value)
            return try code(raw)
        }
        let entry = KeyFileHeader.indexEntrySize
        #expect(try edit { $0[2 + 0 * entry + 5] = 4 } == "corrupted.structure")          // unknown status
        #expect(try edit { $0[2 + 0 * entry + 6] = 2 } == "corrupted.structure")          // reserved flag bit
        #expect(try edit { $0[2 + 2 * entry + 6] = 0 } == "corrupted.structure")          // no primary
        #expect(try edit { $0[2 + 2 * entry + 5] = 2 } == "corrupted.structure")          // primary retired
        #expect(try edit { $0.replaceSubrange(2 + entry..<2 + entry + 4, with: [0, 0, 0, 1]) } == "corrupted.structure")  // duplicate ID 1
        #expect(try edit { $0.replaceSubrange(2 + entry..<2 + entry + 4, with: [0, 0, 0, 9]) } == "corrupted.structure")  // 9 after 7: not ascending
        #expect(try edit { $0 = [0, 0] } == "corrupted.structure")                           // zero keys
    }

    @Test func textAndAccountFields() throws {
        func edit(_ number: UInt16, _ value: String) throws -> String? {
            var raw = try Self.base()
            raw.fields[raw.index(of: number)].value = Array(value.utf8)
            return try code(raw)
        }
        #expect(try edit(3, "") == "corrupted.structure")
        #expect(try edit(3, "a\u{1}b") == "corrupted.structure")
        #expect(try edit(3, "a\u{0}b") == "corrupted.structure")
        #expect(try edit(3, String(repeating: "s", count: 256)) == "corrupted.structure")
        #expect(try edit(3, "serveur-été") == nil)
        #expect(try edit(4, "Sync") == "corrupted.structure")        // not lowercase
        #expect(try edit(4, "\\sync") == "corrupted.structure")      // not canonical local form
        #expect(try edit(4, "cafe\u{301}") == "corrupted.structure") // not NFC
        #expect(try edit(4, "corp\\sync") == nil)                    // canonical (the MAC would then fail)
        var raw = try Self.base()
        raw.fields[raw.index(of: 3)].value = [0xc3, 0x28]  // invalid UTF-8
        #expect(try code(raw) == "corrupted.structure")
    }

    @Test func payloadLengthMustMatchTheKeyCount() throws {
        var raw = try Self.base()
        raw.payload.append(0)
        #expect(try code(raw) == "corrupted.structure")
        raw = try Self.base()
        raw.payload.removeLast()
        #expect(try code(raw) == "corrupted.structure")
    }

    @Test func accountIsCheckedBeforeKDFBounds() throws {
        // scrypt-ceiling.bin belongs to 'sync'; another account is refused first, without deriving.
        let sealed = try SealedKeyFile(bytes: try TestVectorTests.load("scrypt-ceiling.bin"))
        let credentials = Credentials(account: try ServiceAccount("other"), password: try Password("password"))
        #expect(keyFileError { try sealed.open(with: credentials) }?.code.rawValue == "wrongCredentials.account")
    }

    @Test func writerRefusesWhatReadersRefuse() throws {
        let keySet = try VectorGenerator.keySet("writer", [VectorGenerator.KeySpec(id: 1, primary: true)])
        let account = try ServiceAccount("sync")
        let credentials = Credentials(account: account, password: try Password("pw"))
        func header(_ edit: (inout KeyFileHeader) -> Void) throws -> String? {
            var header = KeyFileHeader(keySetID: keySet.id, createdAt: 0, sourceServer: "s", account: account,
                                       kdf: .scrypt(logN: 4, r: 1, p: 1), salt: [UInt8](repeating: 1, count: 32),
                                       nonce: [UInt8](repeating: 2, count: 12), keys: keySet.descriptors)
            edit(&header)
            return keyFileError { try KeyFile(header: header, keySet: keySet).serialized(with: credentials) }?.code.rawValue
        }
        #expect(try header { _ in } == nil)
        #expect(try header { $0.salt = [1] } == "invalidInput.salt")
        #expect(try header { $0.nonce = [1] } == "invalidInput.nonce")
        #expect(try header { $0.sourceServer = "" } == "invalidInput.sourceServer")
        // A newline could forge lines in `keytool inspect`, which auditors trust without a password.
        #expect(try header { $0.sourceServer = "sync1\nKDF: scrypt N=2^20" } == "invalidInput.sourceServer")
        #expect(try header { $0.comment = "backup\r\nfake line" } == "invalidInput.comment")
        #expect(try header { $0.comment = "bad\u{7}" } == "invalidInput.comment")
        #expect(try header { $0.kdf = .scrypt(logN: 31, r: 8, p: 1) } == "parametersOutOfBounds.ceiling")
        #expect(try header { $0.unknownFields = [UnknownHeaderField(type: 0x8042, value: [])] } == "invalidInput.unknown-field")
        #expect(try header { $0.unknownFields = [UnknownHeaderField(type: 0x0003, value: [])] } == "invalidInput.unknown-field")
        #expect(try header { $0.unknownFields = [UnknownHeaderField(type: 0x0042, value: []), UnknownHeaderField(type: 0x0042, value: [1])] } == "invalidInput.unknown-field")
        let other = Credentials(account: try ServiceAccount("other"), password: try Password("pw"))
        let file = try KeyFile(keySet: keySet, account: account, sourceServer: "s", kdf: .scrypt(logN: 4, r: 1, p: 1), policy: .allowWeak)
        #expect(keyFileError { try file.serialized(with: other) }?.code.rawValue == "invalidInput.account")
        #expect(keyFileError { try KeyFile(keySet: keySet, account: account, sourceServer: "s", kdf: .scrypt(logN: 4, r: 1, p: 1)) }?.code.rawValue == "parametersOutOfBounds.weak")
    }

    /// Bidi controls and the Unicode line/paragraph separators rewrite what a reader sees as
    /// surely as a newline does: the writer refuses them and the reader calls such a header what
    /// it is, corrupted.structure, naming the character (docs/key-file-format.md, 4.2).
    static let displayUnsafe: [Unicode.Scalar] = ["\u{202E}", "\u{202A}", "\u{2066}", "\u{2069}", "\u{200E}", "\u{200F}",
                                                  "\u{061C}", "\u{2028}", "\u{2029}", "\u{1B}", "\u{85}", "\u{7F}"]

    @Test(arguments: displayUnsafe)
    func writerRefusesDisplayUnsafeHeaderText(_ scalar: Unicode.Scalar) throws {
        let keySet = try VectorGenerator.keySet("writer", [VectorGenerator.KeySpec(id: 1, primary: true)])
        let account = try ServiceAccount("sync")
        let credentials = Credentials(account: account, password: try Password("pw"))
        for field in [HeaderField.sourceServer, .comment] {
            var header = KeyFileHeader(keySetID: keySet.id, createdAt: 0, sourceServer: "s", account: account,
                                       kdf: .scrypt(logN: 4, r: 1, p: 1), salt: [UInt8](repeating: 1, count: 32),
                                       nonce: [UInt8](repeating: 2, count: 12), keys: keySet.descriptors)
            let text = "sync1\(Character(scalar))checksum ok (authenticated)"
            if field == .comment { header.comment = text } else { header.sourceServer = text }
            let error = keyFileError { try KeyFile(header: header, keySet: keySet).serialized(with: credentials) }
            #expect(error?.code.rawValue == "invalidInput.\(field)")
            #expect(error?.message.contains(DisplayUnsafeScalars.codePoint(scalar)) == true, "\(error?.message ?? "no error")")
        }
    }

    @Test(arguments: displayUnsafe)
    func readerRefusesDisplayUnsafeHeaderText(_ scalar: Unicode.Scalar) throws {
        for number: UInt16 in [3, 8] {
            var raw = try Self.multi()
            raw.fields[raw.index(of: number)].value = Array("a\(Character(scalar))b".utf8)
            let bytes = try raw.assembled()
            let error = keyFileError { try SealedKeyFile(bytes: bytes) }
            #expect(error?.code.rawValue == "corrupted.structure", "field \(number)")
            #expect(error?.message.contains(DisplayUnsafeScalars.codePoint(scalar)) == true, "\(error?.message ?? "no error")")
        }
    }

    @Test func displayUnsafeScalarsAreExactlyTheDocumentedSet() {
        let bidi: Set<UInt32> = [0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let expected = scalar.properties.generalCategory == .control || bidi.contains(value) || value == 0x2028 || value == 0x2029
                || value == 0xFEFF
            if DisplayUnsafeScalars.contains(scalar) != expected { Issue.record("U+\(String(value, radix: 16))"); return }
        }
        // Other text stays allowed: the vectors' non-ASCII comment, and right-to-left letters.
        #expect(DisplayUnsafeScalars.first(in: "Schlüssel für den Standby, שלום, مرحبا, 東京") == nil)
    }
}
