import Testing
import ToolSupport

@Suite("TerminalText: the escaping of every text line the tools print")
struct TerminalTextTests {
    @Test func escapesControlBidiAndSeparatorsVisibly() {
        #expect(TerminalText.escaped("a\u{1B}[32mok\u{1B}[0m") == "a\\e[32mok\\e[0m")
        #expect(TerminalText.escaped("x\ny\rz\tw") == "x\\ny\\rz\\tw")
        #expect(TerminalText.escaped("\u{0}\u{7}\u{7F}\u{85}\u{9B}") == "\\u{0}\\u{7}\\u{7F}\\u{85}\\u{9B}")
        #expect(TerminalText.escaped("evil\u{202E}txt.bin") == "evil\\u{202E}txt.bin")
        #expect(TerminalText.escaped("a\u{2028}b\u{2029}c") == "a\\u{2028}b\\u{2029}c")
        for scalar: Unicode.Scalar in ["\u{061C}", "\u{200E}", "\u{200F}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}",
                                       "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}"] {
            let text = TerminalText.escaped("[\(Character(scalar))]")
            #expect(text == "[\\u{\(String(scalar.value, radix: 16, uppercase: true))}]")
        }
    }

    @Test func leavesOrdinaryTextAlone() {
        for text in ["CORP\\svc-sync", "Schlüssel für den Standby", "שלום עולם", "東京 ☃", "e\u{301}", "a  b", ""] {
            #expect(TerminalText.escaped(text) == text)
        }
    }

    @Test func outputHoldsNoUnsafeCharacterAndIsIdempotent() {
        // A CR LF pair is one Character but two scalars: the escaping works on scalars.
        let hostile = "ok\r\n\u{1B}[2K\u{1B}[1Aok  file.bin\u{2028}checksum ok (authenticated)\u{202E}nib.\u{85}"
        let once = TerminalText.escaped(hostile)
        #expect(!once.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || (0x2028...0x202E).contains($0.value) })
        #expect(once.split(separator: "\n").count == 1)
        #expect(TerminalText.escaped(once) == once)
    }
}
