import Testing
import Foundation
@testable import KeyFile

@Suite struct PasswordNormalizationTests {
    @Test func nfdAndNfcGiveIdenticalBytes() throws {
        let decomposed = try Password("caf\u{65}\u{301}")
        let composed = try Password("caf\u{e9}")
        #expect(decomposed.bytes == composed.bytes)
        #expect(composed.bytes.unsafeCopyToArray() == [0x63, 0x61, 0x66, 0xc3, 0xa9])
    }

    @Test func hangulAndMultipleMarksCompose() throws {
        // U+1112 U+1161 U+11AB composes to U+D55C; o + diaeresis + macron composes to U+022B.
        #expect(try Password("\u{1112}\u{1161}\u{11ab}").bytes.unsafeCopyToArray() == utf8("\u{d55c}"))
        #expect(try Password("o\u{308}\u{304}").bytes.unsafeCopyToArray() == utf8("\u{22b}"))
    }

    @Test func compatibilityCharactersAreNotFolded() throws {
        // NFC, not NFKC: the ligature "ﬁ" stays distinct from "fi".
        #expect(try Password("\u{fb01}").bytes != Password("fi").bytes)
    }

    @Test func oneTrailingNewlineIsStrippedFromRawInput() throws {
        let plain = try Password("pässwörd").bytes
        #expect(try Password(utf8: SecureBytes(utf8("pässwörd\n"))).bytes == plain)
        #expect(try Password(utf8: SecureBytes(utf8("pässwörd\r\n"))).bytes == plain)
        #expect(try Password(utf8: SecureBytes(utf8("pässwörd"))).bytes == plain)
        // Only one line ending goes; what then still holds a line break is refused (format 5.1).
        #expect(keyFileError { try Password(utf8: SecureBytes(utf8("pässwörd\n\n"))) }?.code.rawValue == "invalidInput.password")
        #expect(keyFileError { try Password(utf8: SecureBytes(utf8("pässwörd\r"))) }?.code.rawValue == "invalidInput.password")
        // Leading and inner whitespace is kept.
        #expect(try Password(utf8: SecureBytes(utf8(" a b\n"))).bytes.unsafeCopyToArray() == utf8(" a b"))
        // Raw bytes are normalized too.
        #expect(try Password(utf8: SecureBytes(utf8("e\u{301}\n"))).bytes.unsafeCopyToArray() == [0xc3, 0xa9])
    }

    @Test func invalidUTF8IsRefused() {
        for raw: [UInt8] in [[0xff], [0x61, 0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0x61, 0x80, 0x0a]] {
            #expect(keyFileError { try Password(utf8: SecureBytes(raw)) }?.code.rawValue == "invalidInput.password")
        }
    }

    @Test func emptyAndTooLongAreRefused() throws {
        #expect(keyFileError { try Password("") }?.code.rawValue == "invalidInput.password")
        #expect(keyFileError { try Password(utf8: SecureBytes(utf8("\n"))) }?.code.rawValue == "invalidInput.password")
        #expect(try Password(String(repeating: "a", count: 1024)).bytes.count == 1024)
        #expect(keyFileError { try Password(String(repeating: "a", count: 1025)) }?.category == .invalidInput)
        // The limit is on the normalized UTF-8: 512 two-byte characters fit, 513 do not.
        #expect(try Password(String(repeating: "é", count: 512)).bytes.count == 1024)
        #expect(keyFileError { try Password(String(repeating: "e\u{301}", count: 513)) }?.category == .invalidInput)
    }
}
