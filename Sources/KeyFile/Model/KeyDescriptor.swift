/// A key's identifier within its key set (Tink-style: a non-zero 32-bit number, unique in the set).
public struct KeyID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (lhs: KeyID, rhs: KeyID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { String(rawValue) }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(UInt32.self) }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// What a key is for. Both use 32 bytes of key material.
public enum KeyAlgorithm: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case aes256GCM = 1
    case hmacSHA256 = 2

    public var keySize: Int { 32 }

    public var description: String {
        switch self {
        case .aes256GCM: return "AES-256-GCM"
        case .hmacSHA256: return "HMAC-SHA-256"
        }
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown key algorithm \(name)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A key's lifecycle state. Only active keys encrypt; retired keys still decrypt old data;
/// disabled keys do neither.
public enum KeyStatus: UInt8, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case active = 1
    case retired = 2
    case disabled = 3

    public var description: String {
        switch self {
        case .active: return "active"
        case .retired: return "retired"
        case .disabled: return "disabled"
        }
    }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown key status \(name)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The public facts about one key, listed in the plaintext header so an auditor can read them
/// without the password. Carries no key material.
public struct KeyDescriptor: Hashable, Sendable, Codable {
    public var id: KeyID
    public var algorithm: KeyAlgorithm
    public var status: KeyStatus
    /// Creation time, whole seconds since the Unix epoch (UTC).
    public var createdAt: Int64
    public var isPrimary: Bool

    public init(id: KeyID, algorithm: KeyAlgorithm, status: KeyStatus, createdAt: Int64, isPrimary: Bool) {
        self.id = id
        self.algorithm = algorithm
        self.status = status
        self.createdAt = createdAt
        self.isPrimary = isPrimary
    }
}
