import Foundation
import Testing
@testable import KeyFile

/// `KeyFile` normalizes passwords and account names with the standard library (it builds on
/// FoundationEssentials, which has no normalization API). Key files written so far were derived
/// from Foundation's normalization, so the two must agree byte for byte wherever Foundation is
/// Unicode NFC. These tests run the old Foundation pipeline beside the new one over every
/// assigned scalar and over sequences that compose, reorder or decompose when lowercased. The
/// only differences allowed are the three places where Foundation on Linux is not NFC (see
/// ``knownFoundationDeviation(_:)``); there the standard's answer (which Python's
/// `unicodedata`, the reference reader's normalizer, also gives) is pinned by known answers.
@Suite struct UnicodeNormalizationTests {
    /// Every assigned scalar (general category not Cn) outside the surrogates.
    static let assignedScalars: [Unicode.Scalar] = (0...0x10FFFF).compactMap { value in
        guard let scalar = Unicode.Scalar(value), scalar.properties.generalCategory != .unassigned else { return nil }
        return scalar
    }

    /// What `Password` did with Foundation: NFC, then UTF-8.
    static func foundationPassword(_ text: String) -> [UInt8] { Array(text.precomposedStringWithCanonicalMapping.utf8) }

    /// What `ServiceAccount` did with Foundation before the split at `\`, except that U+200B
    /// is no longer trimmed (format section 5.2, step 1: exactly TAB and the Zs code points;
    /// an account holding U+200B is now refused instead).
    static func foundationAccount(_ name: String) -> String {
        var trimmed = CharacterSet.whitespaces
        trimmed.remove(Unicode.Scalar(0x200B)!)
        return name.trimmingCharacters(in: trimmed).precomposedStringWithCanonicalMapping.lowercased().precomposedStringWithCanonicalMapping
    }

    static func passwordBytes(_ text: String) -> [UInt8]? { (try? Password(text))?.bytes.unsafeCopyToArray() }

    /// Where Foundation's result is not Unicode NFC, so a difference is Foundation's defect:
    /// - the text holds a scalar Foundation's tables do not know (`illegalCharacters`, i.e.
    ///   unassigned in its Unicode version): its combining class is 0 there, so marks around
    ///   it are not reordered;
    /// - a supplementary scalar is followed by a combining mark: Foundation composes them as if
    ///   the scalar were its low 16 bits (U+10041 U+0301 became U+00C1);
    /// - a Hangul LV syllable is followed by a trailing jamo: Foundation does not compose them.
    static func knownFoundationDeviation(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        if scalars.contains(where: { CharacterSet.illegalCharacters.contains($0) }) { return true }
        for (scalar, next) in zip(scalars, scalars.dropFirst()) {
            if scalar.value > 0xFFFF, next.properties.canonicalCombiningClass.rawValue != 0 { return true }
            if (0xAC00...0xD7A3).contains(scalar.value), (scalar.value - 0xAC00) % 28 == 0, (0x11A8...0x11C2).contains(next.value) { return true }
        }
        return false
    }

    static func describe(_ text: String) -> String { text.unicodeScalars.map { DisplayUnsafeScalars.codePoint($0) }.joined(separator: " ") }

    /// Sequences that exercise composition, canonical reordering, Hangul, singletons, the
    /// composition exclusions and case mappings that decompose.
    static let sequences: [String] = {
        var result = [
            "e\u{301}", "E\u{301}", "a\u{328}\u{301}", "a\u{301}\u{328}", "q\u{307}\u{323}", "\u{1E0B}\u{323}",
            "\u{1100}\u{1161}", "\u{1100}\u{1161}\u{11A8}", "\u{AC00}\u{11A8}", "\u{1112}\u{1161}\u{11AB}",
            "\u{212B}", "\u{2126}", "\u{0344}", "\u{0958}", "\u{FB2C}", "\u{1D15E}", "\u{0F73}",
            "\u{0130}", "I\u{307}", "\u{01C5}", "\u{1F88}", "\u{0386}", "\u{03A3}\u{03A3}", "Σ", "ß", "ẞ",
            "\u{0041}\u{030A}\u{0301}", "\u{00C5}\u{0316}", "o\u{31B}\u{323}", "\u{0FB2}\u{0F80}", "\u{0CC6}\u{0CC2}\u{0CD5}",
            "\u{11099}\u{110BA}", "\u{1133B}\u{11347}\u{1133E}", "Café", "Cafe\u{301}", "Jörg", "MÜNCHEN\\Jörg",
        ]
        // Each combining mark after a base letter, and every pair of a few marks in both orders.
        let marks = assignedScalars.filter { $0.properties.canonicalCombiningClass.rawValue != 0 }
        result += marks.map { "a\($0)" } + marks.map { "A\($0)" }
        let sample: [Unicode.Scalar] = ["\u{300}", "\u{301}", "\u{316}", "\u{323}", "\u{328}", "\u{334}", "\u{345}", "\u{5B0}", "\u{94D}", "\u{3099}"]
        for first in sample { for second in sample { result.append("o\(first)\(second)") } }
        return result
    }()

    @Test func passwordsNormalizeAsFoundationDidForEveryAssignedScalar() {
        var unexplained: [String] = []
        var deviations = 0
        // CR and LF are refused in a password (format section 5.1), whatever Foundation made of them.
        for scalar in Self.assignedScalars where scalar != "\n" && scalar != "\r" {
            let text = String(scalar)
            for candidate in [text, text + "\u{301}", "x" + text + "\u{323}\u{301}"] where Self.passwordBytes(candidate) != Self.foundationPassword(candidate) {
                if Self.knownFoundationDeviation(candidate) { deviations += 1 } else { unexplained.append(Self.describe(candidate)) }
            }
        }
        #expect(unexplained.isEmpty, "\(unexplained.count) unexplained differences, first: \(unexplained.prefix(20))")
        #expect(Self.assignedScalars.count > 150_000)
        // The deviations are a small minority (about 1,300 of some 900,000 strings).
        #expect(deviations < 5_000)
    }

    @Test func passwordsNormalizeAsFoundationDidForSequences() {
        for text in Self.sequences where !Self.knownFoundationDeviation(text) {
            #expect(Self.passwordBytes(text) == Self.foundationPassword(text), "\(Self.describe(text))")
        }
    }

    /// The standard's answers where Foundation deviated (checked against Python's unicodedata).
    @Test func passwordsFollowUnicodeWhereFoundationDeviated() {
        #expect(Self.passwordBytes("\u{AC00}\u{11A8}") == [0xEA, 0xB0, 0x81])  // LV + T = U+AC01
        #expect(Self.passwordBytes("\u{10041}\u{301}") == Array("\u{10041}\u{301}".utf8))  // no composition
        #expect(Self.passwordBytes("\u{1F041}\u{301}") == Array("\u{1F041}\u{301}".utf8))
        #expect(Self.passwordBytes("U\u{1ADD}\u{301}") == Array("\u{DA}\u{1ADD}".utf8))  // a new mark of class > 230: reordered after U+0301
        // And Foundation really did deviate there (the reason these are not byte-identical).
        #expect(Self.foundationPassword("\u{10041}\u{301}") == Array("\u{C1}".utf8))
    }

    @Test func accountNamesNormalizeAsFoundationDidForEveryAssignedScalar() {
        var unexplained: [String] = []
        for scalar in Self.assignedScalars {
            let text = String(scalar)
            for candidate in [text, "\(text)x\(text)", " \(text) ", "D\(text)\\U\(text)\u{301}"]
            where !ServiceAccount.generalNormalized(candidate).utf8.elementsEqual(Self.foundationAccount(candidate).utf8)
                && !Self.knownFoundationDeviation(candidate) {
                unexplained.append(Self.describe(candidate))
            }
        }
        #expect(unexplained.isEmpty, "\(unexplained.count) unexplained differences, first: \(unexplained.prefix(20))")
    }

    @Test func accountNamesNormalizeAsFoundationDidForSequences() {
        for text in Self.sequences where !Self.knownFoundationDeviation(text) {
            #expect(ServiceAccount.generalNormalized(text).utf8.elementsEqual(Self.foundationAccount(text).utf8), "\(Self.describe(text))")
        }
    }

    /// The trimmed set is exactly TAB and the general category Zs of this Unicode version (the
    /// 18 code points format section 5.2 lists), which is Foundation's `.whitespaces` less U+200B.
    @Test func trimmedWhiteSpaceIsTabAndTheSpaceSeparators() {
        var count = 0
        for value in UInt32(0)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let trimmed = UnicodeNormalization.isWhitespace(scalar)
            if trimmed { count += 1 }
            #expect(trimmed == (value == 0x09 || scalar.properties.generalCategory == .spaceSeparator), "\(DisplayUnsafeScalars.codePoint(scalar))")
            #expect(trimmed == (CharacterSet.whitespaces.contains(scalar) && value != 0x200B), "\(DisplayUnsafeScalars.codePoint(scalar))")
        }
        #expect(count == 18)
    }

    /// The published vectors' passwords and accounts (docs/key-file-format.md) normalize as
    /// Foundation normalizes them, and to the NFC bytes the manifest publishes.
    @Test func publishedVectorsNormalizeAsFoundationDid() throws {
        let manifest = try TestVectorTests.manifest()
        #expect(!manifest.entries.isEmpty)
        // Passwords read from raw input (passwordInputHex) are checked by the vectors themselves.
        for entry in manifest.entries where entry.passwordInputHex == nil {
            #expect(!Self.knownFoundationDeviation(entry.password) && !Self.knownFoundationDeviation(entry.account), "\(entry.name)")
            #expect(Self.passwordBytes(entry.password) == (entry.password.isEmpty ? nil : Self.foundationPassword(entry.password)), "\(entry.name)")
            #expect(Self.foundationPassword(entry.password).hexString == entry.passwordNFCHex, "\(entry.name)")
            #expect(ServiceAccount.generalNormalized(entry.account).utf8.elementsEqual(Self.foundationAccount(entry.account).utf8), "\(entry.name)")
        }
    }
}

/// The Foundation-free path helpers give what `NSString` gave for the paths the tools handle.
@Suite struct PathComponentTests {
    @Test func directoryAndLastComponentMatchNSString() {
        let paths = ["/", "/a", "a/b", "a/b/", "a//b", "/a/b", "//a", "./a", "../a/", "a/b//", "/tmp/d/f",
                     "dir/.x.bin.tmp-1", "é/ü", "/srv/miis/keys/keyset.bin", "backups/2026/miis_keys.bin", "..", "x.bin", "", "a", "."]
        for path in paths {
            // NSString.deletingLastPathComponent traps on a bare one-character name on this
            // toolchain ("a", "."), so those are checked against their documented result.
            let expectedDirectory = ["a", "."].contains(path) ? "" : (path as NSString).deletingLastPathComponent
            let expectedLast = ["a", "."].contains(path) ? path : (path as NSString).lastPathComponent
            #expect(FileSystemPath.directory(of: path) == expectedDirectory, "\(path.debugDescription)")
            #expect(FileSystemPath.lastComponent(of: path) == expectedLast, "\(path.debugDescription)")
        }
    }
}
