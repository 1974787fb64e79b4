import Deployment
import Foundation
import KeyFile
import Testing

/// The key-set generation's compare-and-set (`changeKeySet`), on both stores: a change applies
/// only at the epoch and generation read, a stale generation is refused and writes nothing, of two
/// concurrent rotations exactly one wins, an activation with a stale generation loses, an
/// abandon is judged by the lease as an activation is.
@Suite("DeploymentStore contract: key-set generations")
struct KeySetChangeContractTests {
    static func rotation(_ keySet: KeySet, epoch: Int64 = 1, generation: Int64 = 1, secrets: [StoredSecret] = []) throws -> (KeySet, KeySetChange) {
        let rotated = try keySet.rotated()
        let reencrypted = try secrets.map { try SecretCipher.seal(try SecretCipher.open($0, keySet: keySet), name: $0.name, keySet: rotated) }
        return (rotated, KeySetChange(expectedEpoch: epoch, expectedGeneration: generation, keySet: rotated,
                                      keys: DeploymentKeyCheck.checkValues(of: rotated), reencrypted: reencrypted,
                                      reason: .rotate, detail: "test rotation"))
    }

    @Test(arguments: StoreFactory.all)
    func setupIsGenerationOneInTheHistory(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        #expect(try await store.deployment()?.keySetGeneration == 1)
        let history = try await store.keySetHistory()
        #expect(history.map(\.reason) == [.setup])
        #expect(history.first?.generation == 1)
        #expect(history.first?.keySetID == keySet.id)
        #expect(history.first?.fingerprint == keySet.fingerprint)
        #expect(try await store.checkValues().map(\.isPrimary) == [true, false])
    }

    @Test(arguments: StoreFactory.all)
    func rotationAdvancesTheGenerationAndReencrypts(_ factory: StoreFactory) async throws {
        let (store, open, keySet) = try await Fixture.deployed(factory)
        let value = SecureBytes(Array("connector password".utf8))
        let secret = try SecretCipher.seal(value, name: "crm", keySet: keySet)
        try await store.putSecret(secret, epoch: 1, origin: .from("alpha"))
        let (rotated, change) = try Self.rotation(keySet, secrets: [secret])
        let state = try await store.changeKeySet(change, origin: .from("alpha"))
        #expect(state.keySetGeneration == 2)
        #expect(state.epoch == 1)
        #expect(state.keySetID == keySet.id)
        #expect(state.keySetFingerprint == rotated.fingerprint)
        let other = try await open()
        #expect(try await other.checkValues() == DeploymentKeyCheck.checkValues(of: rotated))
        #expect(try await other.checkValues().map(\.status) == [.retired, .active, .active])
        #expect(try await other.checkValues().map(\.isPrimary) == [false, false, true])
        let stored = try #require(try await other.secrets().first)
        #expect(stored.keyID == rotated.primary.id)
        #expect(try SecretCipher.open(stored, keySet: rotated) == value)
        #expect(try await other.keySetHistory().map(\.reason) == [.setup, .rotate])
        #expect(try await other.keySetHistory().last?.generation == 2)
        #expect(try await other.activationLog().last?.detail.hasPrefix("key set rotate: generation 1 -> 2") == true)
    }

    @Test(arguments: StoreFactory.all)
    func staleGenerationIsRefusedAndWritesNothing(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let (rotated, first) = try Self.rotation(keySet)
        try await store.changeKeySet(first, origin: .from("alpha"))
        // A second rotation from the same generation read (generation 1): refused.
        let (_, stale) = try Self.rotation(keySet)
        let error = await deploymentError { try await store.changeKeySet(stale, origin: .from("alpha")) }
        #expect(error?.kind == .conflict, "\(error?.message ?? "")")
        #expect(error?.message.contains("generation 2, not 1") == true, "\(error?.message ?? "")")
        #expect(try await store.deployment()?.keySetFingerprint == rotated.fingerprint)
        #expect(try await store.keySetHistory().count == 2)
        // An activation holding the generation-1 key set loses too.
        let activation = await deploymentError {
            try await store.activate(ActivationRequest(server: "beta", expectedEpoch: 1, keySetID: keySet.id, osUser: "root",
                                                       detail: "", forceReason: "test", keySetGeneration: 1))
        }
        #expect(activation?.kind == .conflict, "\(activation?.message ?? "")")
        #expect(try await store.deployment()?.activeServer == "alpha")
    }

    @Test(arguments: StoreFactory.all)
    func onlyTheActiveServerAtItsEpochChangesTheKeySet(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let (_, change) = try Self.rotation(keySet)
        await expectDeploymentError(.fenced) { try await store.changeKeySet(change, origin: .from("beta")) }
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id, forceReason: "test"))
        // alpha, replaced at epoch 2, is fenced.
        await expectDeploymentError(.fenced) { try await store.changeKeySet(change, origin: .from("alpha")) }
        #expect(try await store.deployment()?.keySetGeneration == 1)
        #expect(try await store.keySetHistory().count == 1)
    }

    @Test(arguments: StoreFactory.all)
    func concurrentRotationsHaveExactlyOneWinner(_ factory: StoreFactory) async throws {
        let (store, open, keySet) = try await Fixture.deployed(factory)
        let contenders = 6
        var stores: [any DeploymentStore] = []
        for _ in 0..<contenders { stores.append(try await open()) }
        for contender in stores { _ = try await contender.now() }
        let changes = try (0..<contenders).map { _ in try Self.rotation(keySet).1 }
        let outcomes = await withTaskGroup(of: Result<DeploymentState, DeploymentError>.self) { group in
            for (contender, change) in zip(stores, changes) {
                group.addTask {
                    do { return .success(try await contender.changeKeySet(change, origin: .from("alpha"))) }
                    catch let error as DeploymentError { return .failure(error) }
                    catch { return .failure(DeploymentError(.database, "\(error)")) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let winners = outcomes.compactMap { try? $0.get() }
        let losers = outcomes.compactMap { if case .failure(let error) = $0 { return error } else { return nil } }
        #expect(winners.count == 1)
        #expect(losers.allSatisfy { $0.kind == .conflict }, "\(losers.map(\.message))")
        #expect(try await store.deployment()?.keySetGeneration == 2)
        #expect(try await store.deployment()?.keySetFingerprint == winners.first?.keySetFingerprint)
        #expect(try await store.keySetHistory().count == 2)
        for contender in stores { try await contender.close() }
    }

    @Test(arguments: StoreFactory.all)
    func abandonIsJudgedByTheLeaseAndMarksSecrets(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        try await store.setLease(0.5, epoch: 1, origin: .from("alpha"))
        let secret = try SecretCipher.seal(SecureBytes(Array("x".utf8)), name: "crm", keySet: keySet)
        try await store.putSecret(secret, epoch: 1, origin: .from("alpha"))
        try await store.heartbeat(server: "alpha", epoch: 1)
        let replacement = try KeySet.replacing(generation: 1, usedIDs: keySet.keys.map(\.id))
        #expect(replacement.primary.id == KeyID(rawValue: 3))
        let change = KeySetChange(expectedEpoch: 1, expectedGeneration: 1, keySet: replacement,
                                  keys: DeploymentKeyCheck.checkValues(of: replacement), needsReentry: ["crm"],
                                  reason: .abandon, detail: "every key file lost")
        await expectDeploymentError(.primaryAlive) { try await store.changeKeySet(change, origin: .from("beta")) }
        #expect(try await store.deployment()?.keySetGeneration == 1)
        try await Task.sleep(nanoseconds: 700_000_000)
        let state = try await store.changeKeySet(change, origin: .from("beta"))
        #expect(state.activeServer == "beta")
        #expect(state.epoch == 2)
        #expect(state.keySetID == replacement.id)
        #expect(state.keySetGeneration == 2)
        #expect(try await store.secrets().map(\.needsReentry) == [true])
        #expect(try await store.keySetHistory().last?.reason == .abandon)
        #expect(try await store.activationAttempts().last?.outcome == .activated)
        // alpha is fenced; re-entering the secret on beta clears the mark.
        await expectDeploymentError(.fenced) { try await store.heartbeat(server: "alpha", epoch: 1) }
        let again = try SecretCipher.seal(SecureBytes(Array("x".utf8)), name: "crm", keySet: replacement)
        try await store.putSecret(again, epoch: 2, origin: .from("beta"))
        #expect(try await store.secrets().map(\.needsReentry) == [false])
    }

    @Test(arguments: StoreFactory.all)
    func migratingSchema3To4KeepsTheDeploymentAtGenerationOne(_ factory: StoreFactory) async throws {
        let open = try factory.newDatabase()
        let store = try await open()
        try await store.migrate(to: 3)
        try await store.register(Fixture.server("old", .primary, version: "1.2.0"), origin: .test)
        let keySet = try KeySet.generate(count: 2)
        try await store.createDeployment(
            DeploymentState(activeServer: "old", epoch: 1, keySetID: keySet.id, keySetFingerprint: keySet.fingerprint, updatedAt: Date()),
            checkValues: DeploymentKeyCheck.checkValues(of: keySet), origin: .from("old"))
        #expect(try await store.keySetHistory().isEmpty)
        await expectDeploymentError(.schemaMismatch) {
            try await store.changeKeySet(try Self.rotation(keySet).1, origin: .from("old"))
        }
        try await store.migrate(to: 4)
        #expect(try await store.schemaVersion() == 4)
        #expect(try await store.deployment()?.keySetGeneration == 1)
        #expect(try await store.checkValues() == DeploymentKeyCheck.checkValues(of: keySet))
        let history = try await store.keySetHistory()
        #expect(history.map(\.reason) == [.setup])
        #expect(history.first?.keySetID == keySet.id)
        try await store.changeKeySet(try Self.rotation(keySet).1, origin: .from("old"))
        #expect(try await store.deployment()?.keySetGeneration == 2)
    }
}
