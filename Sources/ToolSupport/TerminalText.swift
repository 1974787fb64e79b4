#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KeyFile

/// The one escaping every tool applies to a line of text output before it is written, so that no
/// file name, header string or log field (`--reason`, server and secret names, an activation
/// log's detail) can move the cursor, recolour the terminal, reorder text or start a fake line.
///
/// The characters escaped are ``DisplayUnsafeScalars`` (control C0/DEL/C1, bidi controls,
/// U+2028/U+2029), in a visible syntax:
///
/// | character | shown as |
/// |---|---|
/// | TAB, LF, CR | `\t`, `\n`, `\r` |
/// | ESC (U+001B) | `\e` |
/// | any other | `\u{HEX}`, e.g. `\u{7}`, `\u{85}`, `\u{202E}`, `\u{2028}` |
/// | a byte of a file name that is not UTF-8 (``FileSystemPath``) | `\xHH` |
///
/// Everything else, backslashes included, is printed as it is (account names such as
/// `CORP\svc-sync` stay readable), so the escape is for display only: a name that literally holds
/// the characters `\e` looks the same as one holding ESC. JSON output (`--json`) is the exact form.
package enum TerminalText {
    /// `text` with every display-unsafe scalar replaced by its visible escape. Total over any
    /// String, and idempotent: its output holds no character it would escape.
    package static func escaped(_ text: String) -> String {
        // Bytes of a file name that are not UTF-8 travel as reserved scalars: shown as `\xHH`.
        let text = FileSystemPath.visible(text)
        guard text.unicodeScalars.contains(where: DisplayUnsafeScalars.contains) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard DisplayUnsafeScalars.contains(scalar) else { result.append(scalar); continue }
            let escape: String
            switch scalar {
            case "\t": escape = "\\t"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\u{1B}": escape = "\\e"
            default: escape = "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
            result.append(contentsOf: escape.unicodeScalars)
        }
        return String(result)
    }
}

/// Prints one line of text output to standard output, escaped with ``TerminalText/escaped(_:)``.
/// The text output of every tool goes through here (or ``printError(_:)``); JSON does not.
package func printLine(_ line: String) {
    print(TerminalText.escaped(line))
}
