import Foundation

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
    /// empty, has more than one `\`, contains control characters or is too long.
    public init(_ name: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        let normalized = trimmed.precomposedStringWithCanonicalMapping.lowercased().precomposedStringWithCanonicalMapping
        guard !normalized.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw KeyFileError.invalidInput("account", "the account name contains control characters")
        }
        let parts = normalized.split(separator: "\\", omittingEmptySubsequences: false)
        let domain: Substring?
        let user: Substring
        switch parts.count {
        case 1: (domain, user) = (nil, parts[0])
        case 2: (domain, user) = (parts[0].isEmpty ? nil : parts[0], parts[1])
        default:
            throw KeyFileError.invalidInput("account", "the account name '\(name)' has more than one '\\'; use DOMAIN\\user, \\user or user")
        }
        guard !user.isEmpty, !user.allSatisfy(\.isWhitespace) else {
            throw KeyFileError.invalidInput("account", "the account name is empty; use DOMAIN\\user, \\user or user")
        }
        for part in [domain, user].compactMap({ $0 }) where part.first?.isWhitespace == true || part.last?.isWhitespace == true {
            throw KeyFileError.invalidInput("account", "the account name '\(name)' has white space around '\\' or at an end")
        }
        self.domain = domain.map(String.init)
        self.user = String(user)
        guard canonical.utf8.count <= Self.maximumLength else {
            throw KeyFileError.invalidInput("account", "the account name is longer than \(Self.maximumLength) bytes")
        }
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
