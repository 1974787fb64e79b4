import Testing
import Foundation
@testable import KeyFile

@Suite struct ServiceAccountNormalizationTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let input: String
        let canonical: String
        let domain: String?
        let user: String
        var testDescription: String { input.debugDescription }
    }

    static let table: [Row] = [
        Row(input: "CORP\\Sync", canonical: "corp\\sync", domain: "corp", user: "sync"),
        Row(input: "corp\\sync", canonical: "corp\\sync", domain: "corp", user: "sync"),
        Row(input: "\\Sync", canonical: "sync", domain: nil, user: "sync"),
        Row(input: "SYNC", canonical: "sync", domain: nil, user: "sync"),
        Row(input: "sync", canonical: "sync", domain: nil, user: "sync"),
        Row(input: "MÜNCHEN\\Jörg", canonical: "münchen\\jörg", domain: "münchen", user: "jörg"),
        Row(input: "MU\u{308}NCHEN\\Jo\u{308}rg", canonical: "münchen\\jörg", domain: "münchen", user: "jörg"),
        Row(input: "ΑΘΉΝΑ\\Σύνδεση", canonical: "αθήνα\\σύνδεση", domain: "αθήνα", user: "σύνδεση"),
        Row(input: "Straße", canonical: "straße", domain: nil, user: "straße"),
        Row(input: "svc.miis-sync_01", canonical: "svc.miis-sync_01", domain: nil, user: "svc.miis-sync_01"),
    ]

    @Test(arguments: table)
    func normalizes(_ row: Row) throws {
        let account = try ServiceAccount(row.input)
        #expect(account.canonical == row.canonical)
        #expect(Array(account.canonical.utf8) == Array(row.canonical.precomposedForTest.utf8))
        #expect(account.domain == row.domain)
        #expect(account.user == row.user)
        #expect(account.description == row.canonical)
    }

    @Test func equivalences() throws {
        #expect(try ServiceAccount("\\Sync") == ServiceAccount("sync"))
        #expect(try ServiceAccount("\\SYNC") == ServiceAccount("Sync"))
        #expect(try ServiceAccount("CORP\\Sync") == ServiceAccount("corp\\SYNC"))
        #expect(try ServiceAccount("CORP\\Sync") != ServiceAccount("sync"))
        #expect(try ServiceAccount("CORP\\Sync") != ServiceAccount("OTHER\\Sync"))
        #expect(try ServiceAccount("MÜNCHEN\\Jörg") == ServiceAccount("münchen\\JÖRG"))
        #expect(try ServiceAccount("  CORP\\Sync\t") == ServiceAccount("corp\\sync"))
    }

    @Test(arguments: ["", "\\", "CORP\\", "a\\b\\c", "\\\\user", "   ", "CORP\\  ", "sy\u{0}nc", "sy\nnc", "CORP\\sy\u{7f}nc", "CORP \\sync", "CORP\\ sync",
                    // Bidi controls and separators would make the printed account lie (format 4.2, 5.2).
                    "CORP\\sync\u{202E}", "\u{2066}CORP\\sync", "sy\u{200F}nc", "sync\u{2028}", "sync\u{2029}", "sync\u{061C}", "sync\u{85}"])
    func refused(_ input: String) {
        #expect(keyFileError { try ServiceAccount(input) }?.code.rawValue == "invalidInput.account")
    }

    @Test func lengthLimitIsOnNormalizedUTF8() throws {
        #expect(try ServiceAccount(String(repeating: "a", count: 256)).canonical.utf8.count == 256)
        #expect(keyFileError { try ServiceAccount(String(repeating: "a", count: 257)) }?.category == .invalidInput)
        #expect(keyFileError { try ServiceAccount(String(repeating: "ä", count: 129)) }?.category == .invalidInput)
    }

    @Test func codableUsesTheCanonicalForm() throws {
        let account = try ServiceAccount("CORP\\Sync")
        let data = try JSONEncoder().encode([account])
        #expect(String(decoding: data, as: UTF8.self) == #"["corp\\sync"]"#)
        #expect(try JSONDecoder().decode([ServiceAccount].self, from: data) == [account])
    }
}

extension String {
    /// NFC, for comparing expected bytes in the table.
    var precomposedForTest: String { precomposedStringWithCanonicalMapping }
}

/// The ASCII fast path of the normalization must give exactly what the general (Foundation) path gives.
@Suite struct ServiceAccountASCIIFastPathTests {
    static func general(_ name: String) -> String {
        name.trimmingCharacters(in: .whitespaces).precomposedStringWithCanonicalMapping.lowercased().precomposedStringWithCanonicalMapping
    }

    @Test func everyPrintableASCIICharacterMapsAsTheGeneralPathDoes() {
        for byte in UInt8(0x20)...UInt8(0x7E) {
            let character = String(decoding: [byte], as: UTF8.self)
            for name in [character, "a\(character)b", "  \(character)  ", "\(character)\\\(character)"] {
                #expect(ServiceAccount.asciiNormalized(name) == Self.general(name), "\(name.debugDescription)")
            }
        }
    }

    @Test func randomASCIINamesMapAsTheGeneralPathDoes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let length = Int.random(in: 0...24, using: &generator)
            let name = String(decoding: (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &generator) }, as: UTF8.self)
            #expect(ServiceAccount.asciiNormalized(name) == Self.general(name), "\(name.debugDescription)")
        }
    }

    @Test func anythingElseTakesTheGeneralPath() {
        for name in ["Jörg", "a\tb", "a\u{7F}", "\u{1}x", "CORP\\Ｓync", "x\u{0301}"] {
            #expect(ServiceAccount.asciiNormalized(name) == nil, "\(name.debugDescription)")
        }
    }
}
