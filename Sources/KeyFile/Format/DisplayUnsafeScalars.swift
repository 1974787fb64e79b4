/// The Unicode scalars that can make printed text lie: they move the cursor, recolour or rewrite
/// a terminal line, reorder what follows them (bidi), or start a new line in viewers that honour
/// the Unicode separators. The key-file writer refuses them in header text, the reader reports a
/// header holding one as corrupted (docs/key-file-format.md, section 4.2), and the tools escape
/// them in every text line they print (`TerminalText` in ToolSupport). One definition for both,
/// so what the format forbids and what the output escapes cannot drift apart.
public enum DisplayUnsafeScalars {
    /// Whether `scalar` is one of:
    /// - general category *Cc*: C0 U+0000...U+001F, DEL U+007F, C1 U+0080...U+009F;
    /// - the bidi controls: LRM U+200E, RLM U+200F, ALM U+061C, the embeddings and overrides
    ///   U+202A...U+202E and the isolates U+2066...U+2069;
    /// - LINE SEPARATOR U+2028 and PARAGRAPH SEPARATOR U+2029;
    /// - ZERO WIDTH NO-BREAK SPACE U+FEFF, the byte-order mark: invisible, and many UTF-8
    ///   decoders drop a leading one, so two readers of the same header would show different text.
    ///
    /// Range tests only (no property lookup): header parsing calls this for every scalar of every
    /// text field of every file a `verify --recursive` reads.
    @inlinable
    public static func contains(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if value < 0x20 { return true }
        if value < 0x7F { return false }
        if value <= 0x9F { return true }
        if value < 0x061C { return false }
        return value == 0x061C || value == 0x200E || value == 0x200F
            || (0x2028...0x202E).contains(value) || (0x2066...0x2069).contains(value) || value == 0xFEFF
    }

    /// The first scalar of `text` that ``contains(_:)`` accepts, if any.
    public static func first(in text: String) -> Unicode.Scalar? {
        text.unicodeScalars.first(where: contains)
    }

    /// `U+202E`-style name of a scalar, for messages.
    public static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
