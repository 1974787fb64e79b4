/// A service account name, normalized so that the same account always binds the same bytes.
///
/// Accepted forms (as `miisactivate` documents them): `DOMAIN\user`, `\user` and `user`.
/// Normalization: Unicode NFC, then Unicode default lowercase mapping (locale independent), then
/// a leading `\` (the local-machine form) is dropped. So `\Sync` and `SYNC` are the same account,
/// while `CORP\sync` is another one.
public struct ServiceAccount: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The longest normalized name, in UTF-8 bytes.
    public static let maximumLength = 256

    /// The domain part, lowercased, or `nil` for a local account.
    public let domain: String?
    /// The user part, lowercased.
    public let user: String

    /// Parses and normalizes `name`; throws ``KeyFileError/Category/invalidInput`` when it is
    /// empty, has more than one `\`, contains control, bidi or line-separator characters
    /// (``DisplayUnsafeScalars``) or is too long.
    public init(_ name: String) throws {
        if let (domain, user) = try Self.asciiParts(name) {
            self.domain = domain
            self.user = user
        } else {
            let normalized = Self.generalNormalized(name)
            // The account is printed by every tool and stored in the header: the same display rule
            // as the header's text fields (format section 4.2), and no ZERO WIDTH SPACE either:
            // an invisible code point would make two names that look the same differ.
            if let scalar = normalized.unicodeScalars.first(where: { DisplayUnsafeScalars.contains($0) || $0.value == 0x200B }) {
                throw KeyFileError.invalidInput("account", "the account name contains \(DisplayUnsafeScalars.codePoint(scalar)) (\(Self.refusedKind(scalar)))")
            }
            let parts = normalized.split(separator: "\\", omittingEmptySubsequences: false)
            let domain: Substring?
            let user: Substring
            switch parts.count {
            case 1: (domain, user) = (nil, parts[0])
            case 2: (domain, user) = (parts[0].isEmpty ? nil : parts[0], parts[1])
            default: throw Self.tooManyBackslashes(name)
            }
            guard !user.isEmpty, !user.unicodeScalars.allSatisfy(\.properties.isWhitespace) else { throw Self.emptyName() }
            // White space is the White_Space property of the first and last code point (format
            // section 5.2, step 5), not of grapheme clusters.
            for part in [domain, user].compactMap({ $0 })
            where part.unicodeScalars.first?.properties.isWhitespace == true || part.unicodeScalars.last?.properties.isWhitespace == true {
                throw Self.whiteSpaceAround(name)
            }
            self.domain = domain.map(String.init)
            self.user = String(user)
        }
        guard canonical.utf8.count <= Self.maximumLength else {
            throw KeyFileError.invalidInput("account", "the account name is longer than \(Self.maximumLength) bytes")
        }
    }

    /// The same normalization and checks for the common case, on bytes: a name made only of
    /// printable ASCII (U+0020...U+007E) is already NFC, its default lowercase mapping is the
    /// ASCII one, it holds no display-unsafe scalar, every character is one byte, and the only
    /// white space it can hold (trimmed, or White_Space) is the space. Returns
    /// nil for any other name, which then takes the general path. The results are identical by
    /// construction; this matters when thousands of headers are parsed (`keytool verify
    /// --recursive`): no grapheme breaking and no Unicode property lookup.
    static func asciiParts(_ name: String) throws -> (domain: String?, user: String)? {
        guard let normalized = asciiNormalized(name) else { return nil }
        let bytes = Array(normalized.utf8)
        let separators = bytes.indices.filter { bytes[$0] == 0x5C }
        let domainBytes: ArraySlice<UInt8>?
        let userBytes: ArraySlice<UInt8>
        switch separators.count {
        case 0: (domainBytes, userBytes) = (nil, bytes[...])
        case 1:
            let domainPart = bytes[..<separators[0]]
            (domainBytes, userBytes) = (domainPart.isEmpty ? nil : domainPart, bytes[(separators[0] + 1)...])
        default: throw tooManyBackslashes(name)
        }
        guard !userBytes.isEmpty, !userBytes.allSatisfy({ $0 == 0x20 }) else { throw emptyName() }
        for part in [domainBytes, userBytes].compactMap({ $0 }) where part.first == 0x20 || part.last == 0x20 {
            throw whiteSpaceAround(name)
        }
        return (domainBytes.map { String(decoding: $0, as: UTF8.self) }, String(decoding: userBytes, as: UTF8.self))
    }

    /// The normalization of any name (format section 5.2, steps 1-2): the listed white space
    /// trimmed (``UnicodeNormalization/isWhitespace(_:)``), NFC, the Unicode default full
    /// lowercase mapping of each code point on its own (the standard library's `lowercased()`:
    /// no Final_Sigma context, no language rule, so `ΣΑΣ` becomes `σασ`), NFC again (lowercasing
    /// can decompose: U+0130 becomes `i` + U+0307).
    static func generalNormalized(_ name: String) -> String {
        UnicodeNormalization.nfc(UnicodeNormalization.nfc(UnicodeNormalization.trimmingWhitespace(name)).lowercased())
    }

    /// Lowercased and trimmed of spaces when `name` is printable ASCII (see ``asciiParts(_:)``);
    /// nil for any other name.
    static func asciiNormalized(_ name: String) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(name.utf8.count)
        for byte in name.utf8 {
            guard (0x20...0x7E).contains(byte) else { return nil }
            bytes.append((0x41...0x5A).contains(byte) ? byte | 0x20 : byte)
        }
        guard let first = bytes.firstIndex(where: { $0 != 0x20 }), let last = bytes.lastIndex(where: { $0 != 0x20 }) else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }

    private static func refusedKind(_ scalar: Unicode.Scalar) -> String {
        switch scalar.value {
        case 0x200B, 0xFEFF: return "an invisible character"
        case 0x2028, 0x2029: return "a line or paragraph separator"
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return "a bidi control"
        default: return "a control character"
        }
    }

    private static func tooManyBackslashes(_ name: String) -> KeyFileError {
        KeyFileError.invalidInput("account", "the account name '\(name)' has more than one '\\'; use DOMAIN\\user, \\user or user")
    }

    private static func emptyName() -> KeyFileError {
        KeyFileError.invalidInput("account", "the account name is empty; use DOMAIN\\user, \\user or user")
    }

    private static func whiteSpaceAround(_ name: String) -> KeyFileError {
        KeyFileError.invalidInput("account", "the account name '\(name)' has white space around '\\' or at an end")
    }

    /// `domain\user` or `user`: the exact string bound into key derivation and stored in headers.
    public var canonical: String { domain.map { "\($0)\\\(user)" } ?? user }
    public var description: String { canonical }

    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(canonical)
    }
}
