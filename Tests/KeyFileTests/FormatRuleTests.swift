import Testing
@testable import KeyFile

/// The rules of docs/key-file-format.md that the vectors (which are files to read) cannot show:
/// what a writer refuses and with which code (section 8), and the credential rules (section 5)
/// on values rather than files.
@Suite struct FormatRuleTests {
    static let credentials = { () -> Credentials in
        // A fixed, valid pair; `try!` is acceptable in tests.
        Credentials(account: try! ServiceAccount("sync"), password: try! Password("password"))
    }()
    static let weak = KDFParameters.scrypt(logN: 10, r: 8, p: 1)

    static func file(sourceServer: String = "sync1", comment: String? = nil, kdf: KDFParameters = weak,
                     policy: KDFParameters.Policy = .allowWeak) throws -> KeyFile {
        try KeyFile(keySet: try KeySet.generate(), account: credentials.account, sourceServer: sourceServer, kdf: kdf, policy: policy, comment: comment)
    }

    // MARK: Section 8: the writer's codes

    @Test func writerRefusesKDFParametersWithTheReadersCodes() {
        #expect(keyFileError { try Self.file(kdf: .scrypt(logN: 20, r: 16, p: 1)) }?.code.rawValue == "parametersOutOfBounds.ceiling")
        #expect(keyFileError { try Self.file(kdf: .pbkdf2SHA256(iterations: 0)) }?.code.rawValue == "parametersOutOfBounds.invalid")
        #expect(keyFileError { try Self.file(kdf: Self.weak, policy: .standard) }?.code.rawValue == "parametersOutOfBounds.weak")
    }

    @Test func writerRefusesKeyCountsAsInvalidInput() {
        #expect(keyFileError { try KeySet.generate(count: 0) }?.code.rawValue == "invalidInput.key-count")
        #expect(keyFileError { try KeySet.generate(count: 65_536) }?.code.rawValue == "invalidInput.key-count")
    }

    @Test func writerRefusesAByteOrderMarkInHeaderText() throws {
        for (server, comment, code) in [("\u{FEFF}sync1", nil, "invalidInput.sourceServer"), ("sync1", "a\u{FEFF}b", "invalidInput.comment")] {
            let file = try Self.file(sourceServer: server, comment: comment)
            let error = keyFileError { try file.serialized(with: Self.credentials) }
            #expect(error?.code.rawValue == code)
            #expect(error?.message.contains("U+FEFF") == true, "\(error?.message ?? "")")
        }
    }

    @Test func writerRefusesAnUnknownFieldAReaderWouldRefuse() throws {
        var file = try Self.file()
        var header = file.header
        header.unknownFields = [UnknownHeaderField(type: 0x0042, value: [UInt8](repeating: 0x61, count: 4097))]
        file = try KeyFile(header: header, keySet: file.keySet)
        #expect(keyFileError { try file.serialized(with: Self.credentials) }?.code.rawValue == "invalidInput.unknown-field")
        header.unknownFields = [UnknownHeaderField(type: 0x0042, value: [UInt8](repeating: 0x61, count: 4096))]
        let bytes = try KeyFile(header: header, keySet: file.keySet).serialized(with: Self.credentials)
        #expect(try SealedKeyFile(bytes: bytes).header.unknownFields == header.unknownFields)
    }

    // MARK: Section 5: credentials

    @Test func aPasswordIsOneLine() {
        for text in ["a\nb", "a\rb", "pw\n", "\n"] {
            #expect(keyFileError { try Password(text) }?.code.rawValue == "invalidInput.password", "\(text.debugDescription)")
        }
        for (input, ok) in [("pw\n", true), ("pw\r\n", true), ("pw", true), ("pw\n\n", false), ("pw\r\n\r\n", false),
                            ("pw\nx", false), ("pw\r", false), ("\n", false), ("", false)] {
            let password = try? Password(utf8: SecureBytes(Array(input.utf8)))
            #expect((password != nil) == ok, "\(input.debugDescription)")
            if let password { #expect(password.bytes.unsafeCopyToArray() == Array("pw".utf8)) }
        }
    }

    @Test func accountTrimmingIsExactlyTheListedSet() throws {
        #expect(try ServiceAccount("\t\u{3000}\u{A0}\u{1680}\u{202F}\u{205F}\u{2000}\u{200A} Sync \u{3000}").canonical == "sync")
        for refused in ["\u{200B}sync", "sync\u{200B}", "sy\u{200B}nc", "\u{FEFF}sync", "corp\u{2007}\\sync", "corp\\\u{85}sync", "corp\\ sync"] {
            #expect(keyFileError { try ServiceAccount(refused) }?.code.rawValue == "invalidInput.account", "\(refused.debugDescription)")
        }
        // White space is a property of code points: a combining mark after a space ends the part.
        #expect(try ServiceAccount("corp \u{301}\\sync").canonical == "corp \u{301}\\sync")
    }

    @Test func lowercasingMapsEachCodePointAlone() throws {
        #expect(try ServiceAccount("ΣΑΣ").canonical == "σασ")
        #expect(try ServiceAccount("ΟΔΟΣ\\ΣΑΣ").canonical == "οδοσ\\σασ")
        #expect(Array(try ServiceAccount("İpek").canonical.unicodeScalars) == ["i", "\u{307}", "p", "e", "k"])
        #expect(try ServiceAccount("σας").canonical == "σας")  // already lowercase: another account than σασ
    }
}
