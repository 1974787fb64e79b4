import Foundation
import KeyFile

/// Encrypts the deployment's secrets (connector passwords and the like) under its key set.
///
/// AES-256-GCM with a random 12-byte nonce under the key set's primary key. The associated data
/// binds the secret to its name and to the key set: `"miis-secret v1" || keySetID (16 bytes) ||
/// name (UTF-8)`, so a ciphertext copied to another name or into another deployment fails.
public enum SecretCipher {
    static let label = Array("miis-secret v1".utf8)
    /// The largest secret value accepted.
    public static let maximumValueSize = 64 * 1024

    /// The associated data for `name` in key set `keySetID`.
    public static func associatedData(name: String, keySetID: KeySetID) -> [UInt8] {
        label + keySetID.bytes + Array(name.utf8)
    }

    /// Encrypts `value` as secret `name` under `keySet`'s primary key.
    public static func seal(_ value: SecureBytes, name: String, keySet: KeySet) throws -> StoredSecret {
        try validate(name: name)
        guard value.count <= maximumValueSize else {
            throw DeploymentError(.invalidRequest, "the value of secret '\(name)' is larger than \(maximumValueSize) bytes")
        }
        let key = keySet.primary
        guard key.descriptor.algorithm == .aes256GCM else {
            throw DeploymentError(.keySetMismatch, "the key set's primary key \(key.id) is \(key.descriptor.algorithm), not AES-256-GCM; it cannot encrypt secrets")
        }
        let nonce = try SecureRandom.bytes(count: AES256GCM.nonceSize)
        let ciphertext = try value.withUnsafeBytes {
            try AES256GCM.seal($0, key: key.material, nonce: nonce, associatedData: associatedData(name: name, keySetID: keySet.id))
        }
        return StoredSecret(name: name, keyID: key.id, nonce: nonce, ciphertext: ciphertext)
    }

    /// Decrypts `secret` with the key its `keyID` names. Throws `.keySetMismatch` naming the
    /// secret and key when the key is missing, disabled, or authentication fails.
    public static func open(_ secret: StoredSecret, keySet: KeySet) throws -> SecureBytes {
        guard let key = keySet.key(withID: secret.keyID) else {
            throw DeploymentError(.keySetMismatch, "secret '\(secret.name)' is encrypted under key \(secret.keyID), which the key set \(keySet.id.lowercasedString) does not hold")
        }
        guard key.descriptor.algorithm == .aes256GCM, key.descriptor.status != .disabled else {
            throw DeploymentError(.keySetMismatch, "secret '\(secret.name)' is encrypted under key \(secret.keyID), which is \(key.descriptor.status) \(key.descriptor.algorithm) and cannot decrypt")
        }
        guard secret.nonce.count == AES256GCM.nonceSize,
              let plaintext = try AES256GCM.open(secret.ciphertext[...], key: key.material, nonce: secret.nonce,
                                                 associatedData: associatedData(name: secret.name, keySetID: keySet.id)) else {
            throw DeploymentError(.keySetMismatch, "secret '\(secret.name)' does not decrypt with key \(secret.keyID) of key set \(keySet.id.lowercasedString)")
        }
        return plaintext
    }

    /// Secret names: 1 to 255 ASCII letters, digits and `. _ - / @ :` (the stores' own rule).
    public static func validate(name: String) throws {
        try StoreRules.checkSecretName(name)
    }
}
