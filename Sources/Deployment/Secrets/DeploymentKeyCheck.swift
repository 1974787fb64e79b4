import Foundation
import KeyFile

/// Checks that a key set is the deployment's current one and that it can read the database.
public enum DeploymentKeyCheck {
    /// Verifies, in this order, that `keySet`:
    /// 1. has the deployment's key-set ID,
    /// 2. has the deployment's fingerprint,
    /// 3. matches every check value stored in the database (and holds every key they name),
    /// 4. decrypts every stored secret.
    ///
    /// Throws `.notRegistered` when the database has no deployment yet, otherwise a
    /// `.keySetMismatch` that names the key or secret that failed. Never reveals secret values.
    public static func verifyKeySet(_ keySet: KeySet, against store: any DeploymentStore) async throws {
        guard let deployment = try await store.deployment() else {
            throw DeploymentError(.notRegistered, "there is no deployment in the database yet; set up the primary server first")
        }
        try StoreRules.requireCurrentKeySet(keySet, of: deployment, "the key set")
        for stored in try await store.checkValues() {
            guard let key = keySet.key(withID: stored.keyID) else {
                throw DeploymentError(.keySetMismatch, "the key set lacks key \(stored.keyID), which the deployment's check values list")
            }
            guard ConstantTime.equals(key.checkValue, stored.checkValue) else {
                throw DeploymentError(.keySetMismatch, "key \(stored.keyID)'s check value does not match the deployment's")
            }
        }
        // A secret waiting for re-entry (after an abandon) decrypts under no key set by definition.
        for secret in try await store.secrets() where !secret.needsReentry {
            _ = try SecretCipher.open(secret, keySet: keySet)
        }
    }

    /// The check values to record for `keySet` (one per key, with its status and primary mark).
    public static func checkValues(of keySet: KeySet) -> [KeyCheckValue] {
        keySet.keys.map { KeyCheckValue(keyID: $0.id, checkValue: $0.checkValue, status: $0.descriptor.status, isPrimary: $0.descriptor.isPrimary) }
    }
}
