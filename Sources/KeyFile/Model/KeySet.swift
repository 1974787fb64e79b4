#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One key: its public descriptor, its secret material and its check value.
public struct Key: Sendable {
    public let descriptor: KeyDescriptor
    /// The secret key bytes; never printed.
    public let material: SecureBytes
    /// An 8-byte value that identifies the material without revealing it (a KCV):
    /// the first 8 bytes of HMAC-SHA-256(material, "miis-keyfile v1 check value").
    public let checkValue: [UInt8]

    public static let checkValueSize = 8
    static let checkValueLabel = Array("miis-keyfile v1 check value".utf8)

    /// Builds a key and computes its check value; the material must suit the algorithm.
    public init(descriptor: KeyDescriptor, material: SecureBytes) throws {
        guard material.count == descriptor.algorithm.keySize else {
            throw KeyFileError.invalidInput("key-size", "key \(descriptor.id) needs \(descriptor.algorithm.keySize) bytes of material, got \(material.count)")
        }
        self.descriptor = descriptor
        self.material = material
        self.checkValue = try Self.checkValue(of: material)
    }

    /// The same, computing the check value with `mac`: the loops that build whole key sets
    /// share one MAC context.
    init(descriptor: KeyDescriptor, material: SecureBytes, mac: HMACSHA256.Reusable) throws {
        guard material.count == descriptor.algorithm.keySize else {
            throw KeyFileError.invalidInput("key-size", "key \(descriptor.id) needs \(descriptor.algorithm.keySize) bytes of material, got \(material.count)")
        }
        self.descriptor = descriptor
        self.material = material
        self.checkValue = try material.withUnsafeBytes { key in
            try Self.checkValueLabel.withUnsafeBytes { Array(try mac.authenticate($0, key: key).prefix(Self.checkValueSize)) }
        }
    }

    /// The check value of `material`.
    public static func checkValue(of material: SecureBytes) throws -> [UInt8] {
        Array(try HMACSHA256.authenticate(checkValueLabel, key: material).prefix(checkValueSize))
    }

    public var id: KeyID { descriptor.id }
    /// The check value as lowercase hex.
    public var checkValueHex: String { checkValue.hexString }
}

/// A key set identifier: 16 random bytes, shown as a UUID.
public typealias KeySetID = UUID

/// A set of keys with exactly one primary, as installed on a server and exported to key files.
public struct KeySet: Sendable {
    public static let maximumKeyCount = 65_535

    public let id: KeySetID
    /// The keys, in ascending ``KeyID`` order.
    public let keys: [Key]
    /// Which version of the key set this is: 1 when created, one more after every change of its
    /// keys (a rotation, a retirement, a purge; a new key set after an abandon continues the
    /// count). A key file of an older generation is a stale backup.
    public let generation: UInt32

    /// Validates the invariants every key file relies on: 1...65,535 keys, IDs non-zero and
    /// unique, exactly one primary and that primary active.
    public init(id: KeySetID, keys: [Key], generation: UInt32 = 1) throws {
        let sorted = keys.sorted { $0.id < $1.id }
        try KeySet.validate(sorted.map(\.descriptor))
        guard generation >= 1 else { throw KeyFileError.invalidInput("generation", "the key-set generation starts at 1") }
        self.id = id
        self.keys = sorted
        self.generation = generation
    }

    /// Checks the key-index invariants; used for both key sets and parsed headers.
    static func validate(_ descriptors: [KeyDescriptor]) throws {
        guard !descriptors.isEmpty, descriptors.count <= maximumKeyCount else {
            throw KeyFileError.invalidInput("key-count", "a key set holds 1 to \(maximumKeyCount) keys, not \(descriptors.count)")
        }
        var previous: UInt32 = 0
        for descriptor in descriptors {
            guard descriptor.id.rawValue > previous else {
                throw KeyFileError.invalidInput("key-id", descriptor.id.rawValue == 0 ? "key ID 0 is reserved" : "key ID \(descriptor.id) appears twice")
            }
            previous = descriptor.id.rawValue
        }
        let primaries = descriptors.filter(\.isPrimary)
        guard primaries.count == 1 else {
            throw KeyFileError.invalidInput("primary", primaries.isEmpty ? "the key set has no primary key" : "the key set has \(primaries.count) primary keys")
        }
        guard primaries[0].status == .active else {
            throw KeyFileError.invalidInput("primary", "the primary key \(primaries[0].id) is \(primaries[0].status), not active")
        }
    }

    /// Refuses a key count a key file cannot hold (`invalidInput.key-count`, format section 8),
    /// so a writer can refuse it before asking for a password.
    package static func checkKeyCount(_ count: Int) throws {
        guard count >= 1, count <= maximumKeyCount else {
            throw KeyFileError.invalidInput("key-count", "a key set holds 1 to \(maximumKeyCount) keys, not \(count)")
        }
    }

    /// A fresh key set of `count` random keys; key 1 is the primary, all active.
    public static func generate(
        count: Int = 1, algorithm: KeyAlgorithm = .aes256GCM, createdAt: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> KeySet {
        try checkKeyCount(count)
        // One locked allocation for all the material (one mlock, not one per key), each key a
        // slice of it; one MAC context for all the check values.
        let arena = try SecureBytes.random(count: count * algorithm.keySize)
        let mac = try HMACSHA256.Reusable()
        let keys = try (1...count).map { index in
            try Key(
                descriptor: KeyDescriptor(id: KeyID(rawValue: UInt32(index)), algorithm: algorithm, status: .active, createdAt: createdAt, isPrimary: index == 1),
                material: SecureBytes(slice: ((index - 1) * algorithm.keySize)..<(index * algorithm.keySize), of: arena),
                mac: mac)
        }
        return try KeySet(id: UUID(), keys: keys)
    }

    /// The primary key (exists by construction).
    public var primary: Key {
        // Validation guarantees exactly one; falling back to the first key keeps this total.
        keys.first(where: \.descriptor.isPrimary) ?? keys[0]
    }

    public func key(withID id: KeyID) -> Key? { keys.first { $0.id == id } }

    public var descriptors: [KeyDescriptor] { keys.map(\.descriptor) }

    /// A public fingerprint of the key set: SHA-256 over the label, the 16-byte ID and each key's
    /// ID (4 bytes, big-endian) and check value, as lowercase hex. Equal fingerprints mean the
    /// same keys without revealing them.
    public var fingerprint: String {
        var writer = ByteWriter()
        writer.write(Array("miis-keyfile v1 key-set fingerprint".utf8))
        writer.write(id.bytes)
        for key in keys {
            writer.write(key.id.rawValue)
            writer.write(key.checkValue)
        }
        // SHA-256 of an in-memory buffer cannot fail short of OpenSSL being unusable.
        return ((try? SHA256.hash(writer.bytes)) ?? []).hexString
    }
}

extension UUID {
    /// The 16 raw bytes, in RFC 4122 order.
    package var bytes: [UInt8] {
        withUnsafeBytes(of: uuid) { Array($0) }
    }

    /// The UUID in lower case, the one form every tool prints and reports key-set IDs in (RFC 4122
    /// §3 asks for lower-case output).
    public var lowercasedString: String { uuidString.lowercased() }

    /// A UUID from exactly 16 bytes.
    package init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let b = Array(bytes)
        self.init(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }
}

extension Sequence<UInt8> {
    /// Lowercase hexadecimal.
    package var hexString: String {
        var result = ""
        for byte in self {
            result += String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
        }
        return result
    }
}
