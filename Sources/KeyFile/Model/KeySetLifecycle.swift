#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The changes of a key set's life. Each returns the next generation of the same key set (same
/// ID), leaving `self` untouched; the deployment decides when to apply them.
extension KeySet {
    /// A fresh random AES-256-GCM key becomes the primary; the previous primary is retired (it
    /// still decrypts what it encrypted). Key IDs are never reused: the new key's ID is one more
    /// than the highest of `self` and of `usedIDs` (IDs a purge removed, or an abandoned set's).
    public func rotated(usedIDs: some Sequence<KeyID> = [], createdAt: Int64 = Int64(Date().timeIntervalSince1970)) throws -> KeySet {
        let highest = (keys.map(\.id) + Array(usedIDs)).map(\.rawValue).max() ?? 0
        guard highest < UInt32.max else { throw KeyFileError.invalidInput("key-id", "every key ID of this key set has been used") }
        let fresh = try Key(
            descriptor: KeyDescriptor(id: KeyID(rawValue: highest + 1), algorithm: .aes256GCM, status: .active, createdAt: createdAt, isPrimary: true),
            material: try SecureBytes.random(count: KeyAlgorithm.aes256GCM.keySize))
        let previous = try keys.map { key in
            guard key.descriptor.isPrimary else { return key }
            var descriptor = key.descriptor
            descriptor.isPrimary = false
            descriptor.status = .retired
            return try Key(descriptor: descriptor, material: key.material)
        }
        return try next(previous + [fresh])
    }

    /// Key `id` with `status` (`.retired` or `.disabled`); the primary cannot change status.
    public func settingStatus(_ status: KeyStatus, of id: KeyID) throws -> KeySet {
        guard let key = key(withID: id) else {
            throw KeyFileError.invalidInput("key-id", "the key set \(self.id.lowercasedString) holds no key \(id)")
        }
        guard !key.descriptor.isPrimary else {
            throw KeyFileError.invalidInput("primary", "key \(id) is the primary key; rotate first to give the key set another primary")
        }
        guard status != .active else {
            throw KeyFileError.invalidInput("key-status", "a key other than the primary cannot be made active again")
        }
        return try next(try keys.map { key in
            guard key.id == id else { return key }
            var descriptor = key.descriptor
            descriptor.status = status
            return try Key(descriptor: descriptor, material: key.material)
        })
    }

    /// The key set without the keys `ids` (never the primary).
    public func removing(_ ids: Set<KeyID>) throws -> KeySet {
        if let primary = ids.first(where: { $0 == self.primary.id }) {
            throw KeyFileError.invalidInput("primary", "key \(primary) is the primary key and cannot be removed")
        }
        return try next(keys.filter { !ids.contains($0.id) })
    }

    /// A new key set (new ID, one fresh primary key) that continues this deployment's count of
    /// generations and key IDs: what replaces a key set whose every copy is lost.
    public static func replacing(generation: UInt32, usedIDs: some Sequence<KeyID>,
                                 createdAt: Int64 = Int64(Date().timeIntervalSince1970)) throws -> KeySet {
        let highest = usedIDs.map(\.rawValue).max() ?? 0
        guard highest < UInt32.max, generation < UInt32.max else { throw KeyFileError.invalidInput("key-id", "every key ID or generation has been used") }
        let key = try Key(
            descriptor: KeyDescriptor(id: KeyID(rawValue: highest + 1), algorithm: .aes256GCM, status: .active, createdAt: createdAt, isPrimary: true),
            material: try SecureBytes.random(count: KeyAlgorithm.aes256GCM.keySize))
        return try KeySet(id: UUID(), keys: [key], generation: generation + 1)
    }

    private func next(_ keys: [Key]) throws -> KeySet {
        guard generation < UInt32.max else { throw KeyFileError.invalidInput("generation", "the key set has reached its last generation") }
        return try KeySet(id: id, keys: keys, generation: generation + 1)
    }
}
