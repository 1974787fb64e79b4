/// The text normalization of passwords and account names, on the standard library alone.
///
/// `KeyFile` must not need Foundation (keytool links it, and Foundation brings ICU's data:
/// tens of megabytes and start-up time), and FoundationEssentials has no normalization API. The
/// standard library's NFC (`String._nfcCodeUnits`, the one String comparison itself relies on)
/// is public though underscored. `UnicodeNormalizationTests` compares it with Foundation's
/// `precomposedStringWithCanonicalMapping` (what earlier versions used) over every assigned
/// scalar: they agree except where Foundation on Linux is not Unicode NFC (its tables lack
/// scalars assigned since its Unicode version; it composes a supplementary scalar followed by a
/// combining mark as if it were the BMP scalar of its low 16 bits, so U+10041 U+0301 became
/// U+00C1; it does not compose a Hangul LV syllable with a trailing jamo). There this follows
/// the standard, as docs/key-file-format.md and its Python reference reader do, and the test
/// pins those answers.
package enum UnicodeNormalization {
    /// `text` in Unicode Normalization Form C.
    static func nfc(_ text: String) -> String {
        // Printable ASCII and plain ASCII are their own NFC; skip the table walk.
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        return String(decoding: text._nfcCodeUnits, as: UTF8.self)
    }

    /// Calls `body` with each UTF-8 byte of `text` in NFC, without building a copy: passwords are
    /// written straight into wiped memory.
    static func forEachNFCByte(of text: String, _ body: (UInt8) throws -> Void) rethrows {
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            for byte in text.utf8 { try body(byte) }
            return
        }
        try text._withNFCCodeUnits(body)
    }

    /// Whether `scalar` is one of the code points trimmed from account names (format section
    /// 5.2, step 1), listed rather than looked up so that no Unicode version can change the set:
    /// CHARACTER TABULATION U+0009 and the 17 space separators (Zs) U+0020, U+00A0, U+1680,
    /// U+2000...U+200A, U+202F, U+205F, U+3000. Not U+200B ZERO WIDTH SPACE (Cf since Unicode
    /// 4.0.1, though Foundation's `CharacterSet.whitespaces`, used before, still holds it):
    /// account names refuse it instead.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// `text` without leading and trailing ``isWhitespace(_:)`` scalars (scalars, not grapheme
    /// clusters).
    package static func trimmingWhitespace(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isWhitespace($0) }),
              let last = scalars.lastIndex(where: { !isWhitespace($0) }) else { return "" }
        return String(scalars[first...last])
    }
}
