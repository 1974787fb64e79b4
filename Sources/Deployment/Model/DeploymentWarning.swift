/// A warning of the deployment layer (a local admin group, readable key material, a schema
/// mismatch): what is wrong, and, where there is one, the ``Remedy`` the tools spell.
public struct DeploymentWarning: Sendable, Equatable, Encodable, CustomStringConvertible {
    public let message: String
    public let remedy: Remedy?

    public init(_ message: String, remedy: Remedy? = nil) {
        self.message = message
        self.remedy = remedy
    }

    public var description: String { message }

    /// The `userInfo` key under which an encoder carries the tool's spelling of remedies
    /// (`@Sendable (Remedy) -> String`): a warning encodes as one string, the message and the
    /// remedy as the tool says it, as the reports have always had it.
    public static let remedyTextKey: CodingUserInfoKey = {
        guard let key = CodingUserInfoKey(rawValue: "miis.remedyText") else { preconditionFailure("a non-empty key") }
        return key
    }()

    /// The message with `remedyText` of the remedy appended.
    public func text(_ remedyText: (Remedy) -> String) -> String {
        remedy.map { "\(message); \(remedyText($0))" } ?? message
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        let spell = encoder.userInfo[Self.remedyTextKey] as? @Sendable (Remedy) -> String
        try container.encode(spell.map { text($0) } ?? message)
    }
}
