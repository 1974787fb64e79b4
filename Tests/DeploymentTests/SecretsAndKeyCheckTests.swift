import Deployment
import Foundation
import KeyFile
import Testing

func secure(_ text: String) -> SecureBytes {
    let bytes = Array(text.utf8)
    return SecureBytes(count: bytes.count) { $0.copyBytes(from: bytes) }
}

@Suite("Secrets and key-set verification")
struct SecretsAndKeyCheckTests {
    @Test func secretRoundTripsUnderThePrimaryKey() throws {
        let keySet = try KeySet.generate(count: 3)
        let secret = try SecretCipher.seal(secure("p@ss"), name: "ldap", keySet: keySet)
        #expect(secret.keyID == keySet.primary.id)
        #expect(secret.nonce.count == 12)
        #expect(secret.ciphertext.count == 4 + 16)
        #expect(try SecretCipher.open(secret, keySet: keySet) == secure("p@ss"))
        let again = try SecretCipher.seal(secure("p@ss"), name: "ldap", keySet: keySet)
        #expect(again.nonce != secret.nonce)
    }

    @Test func secretIsBoundToItsNameAndKeySet() throws {
        let keySet = try KeySet.generate()
        var secret = try SecretCipher.seal(secure("value"), name: "a", keySet: keySet)
        secret.name = "b"
        #expect(throws: DeploymentError.self) { try SecretCipher.open(secret, keySet: keySet) }
        secret.name = "a"
        // Same keys under another key-set ID: the AAD differs.
        let clone = try KeySet(id: UUID(), keys: keySet.keys)
        #expect(throws: DeploymentError.self) { try SecretCipher.open(secret, keySet: clone) }
        secret.ciphertext[0] ^= 1
        #expect(throws: DeploymentError.self) { try SecretCipher.open(secret, keySet: keySet) }
        let missingKey = StoredSecret(name: "a", keyID: KeyID(rawValue: 9), nonce: secret.nonce, ciphertext: secret.ciphertext)
        do {
            _ = try SecretCipher.open(missingKey, keySet: keySet)
        } catch let error as DeploymentError {
            #expect(error.kind == .keySetMismatch)
            #expect(error.message.contains("'a'") && error.message.contains("key 9"))
        }
        #expect(throws: DeploymentError.self) { try SecretCipher.seal(secure("v"), name: "bad name", keySet: keySet) }
    }

    @Test func verifyKeySetAcceptsTheDeploymentsKeySet() async throws {
        let (store, _, keySet) = try await Fixture.deployed(.sqlite)
        try await store.putSecret(try SecretCipher.seal(secure("one"), name: "one", keySet: keySet), epoch: 1, origin: .from("alpha"))
        try await DeploymentKeyCheck.verifyKeySet(keySet, against: store)
    }

    @Test func verifyKeySetNamesWhatFailed() async throws {
        let (store, _, keySet) = try await Fixture.deployed(.sqlite)
        func failure(_ candidate: KeySet) async -> String? {
            do { try await DeploymentKeyCheck.verifyKeySet(candidate, against: store); return nil }
            catch let error as DeploymentError { return error.kind == .keySetMismatch ? error.message : "kind \(error.kind)" }
            catch { return "\(error)" }
        }
        // Another key set entirely.
        #expect(await failure(try KeySet.generate())?.contains("is not the deployment's current key set") == true)
        // Same ID, other keys: the fingerprint differs.
        let impostor = try KeySet(id: keySet.id, keys: try KeySet.generate(count: 2).keys)
        #expect(await failure(impostor)?.contains("fingerprint") == true)
        // A secret that does not decrypt (encrypted under a different key set with the same ID).
        let bad = try SecretCipher.seal(secure("topsecretvalue"), name: "broken", keySet: impostor)
        try await store.putSecret(bad, epoch: 1, origin: .from("alpha"))
        let message = await failure(keySet)
        #expect(message?.contains("secret 'broken'") == true)
        #expect(message?.contains("topsecretvalue") == false)
    }

    @Test func verifyKeySetChecksStoredCheckValues() async throws {
        let (store, _, keySet) = try await Fixture.deployed(.sqlite)
        let sqlite = try #require(store as? SQLiteDeploymentStore)
        try await sqlite.executeRawSQL("UPDATE key_check_values SET check_value = x'0000000000000000' WHERE key_id = 2")
        do {
            try await DeploymentKeyCheck.verifyKeySet(keySet, against: store)
            Issue.record("a wrong check value was accepted")
        } catch let error as DeploymentError {
            #expect(error.kind == .keySetMismatch)
            #expect(error.message.contains("key 2"))
        }
        try await sqlite.executeRawSQL("UPDATE key_check_values SET key_id = 7 WHERE key_id = 2")
        await expectDeploymentError(.keySetMismatch) { try await DeploymentKeyCheck.verifyKeySet(keySet, against: store) }
    }

    @Test func verifyKeySetWithoutDeploymentIsNotRegistered() async throws {
        let store = try await StoreFactory.sqlite.newDatabase()()
        try await store.migrate(to: SchemaCatalog.current)
        await expectDeploymentError(.notRegistered) { try await DeploymentKeyCheck.verifyKeySet(try KeySet.generate(), against: store) }
    }
}
