import Deployment
import Foundation
import KeyFile
import Testing

/// The safety rules of the store contract, on SQLite and on the real PostgreSQL server: fencing
/// on every write made for the active server, the lease as a deployment setting re-checked inside
/// the activation's transaction, and the log of administrative writes.
@Suite("DeploymentStore contract: fencing, lease, audit")
struct StoreSafetyContractTests {
    static func secret(_ name: String, _ byte: UInt8) -> StoredSecret {
        StoredSecret(name: name, keyID: KeyID(rawValue: 1), nonce: Array(repeating: byte, count: 12), ciphertext: [byte, byte])
    }

    @Test(arguments: StoreFactory.all)
    func aFencedOrStandbyServerCannotWriteSecrets(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        try await store.putSecret(Self.secret("connector", 1), epoch: 1, origin: .from("alpha"))
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        // The old primary (epoch 1), the new one with a stale epoch, a standby at the current epoch.
        for (server, epoch) in [("alpha", Int64(1)), ("beta", 1), ("gamma", 2), ("alpha", 2)] {
            await expectDeploymentError(.fenced) {
                try await store.putSecret(Self.secret("connector", 9), epoch: epoch, origin: .from(server))
            }
            await expectDeploymentError(.fenced) {
                try await store.putSecret(Self.secret("planted", 9), epoch: epoch, origin: .from(server))
            }
        }
        #expect(try await store.secrets() == [Self.secret("connector", 1)])
        try await store.putSecret(Self.secret("connector", 2), epoch: 2, origin: .from("beta"))
        #expect(try await store.secrets() == [Self.secret("connector", 2)])
        let changes = try await store.activationLog().filter { $0.outcome == .changed && $0.detail.contains("secret") }
        #expect(changes.map(\.server) == ["alpha", "beta"])
        #expect(changes.map(\.detail) == ["secret 'connector' added (key 1)", "secret 'connector' replaced (key 1)"])
    }

    @Test(arguments: StoreFactory.all)
    func theLeaseIsADeploymentSettingOnlyTheActiveServerChanges(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        #expect(try await store.deployment()?.leaseSeconds == DeploymentState.defaultLeaseSeconds)
        await expectDeploymentError(.fenced) { try await store.setLease(1, epoch: 1, origin: .from("beta")) }
        await expectDeploymentError(.fenced) { try await store.setLease(1, epoch: 0, origin: .from("alpha")) }
        for bad in [0, -1, 0.1, .infinity, .nan, 86_401] as [TimeInterval] {
            await expectDeploymentError(.invalidRequest) { try await store.setLease(bad, epoch: 1, origin: .from("alpha")) }
        }
        #expect(try await store.deployment()?.leaseSeconds == DeploymentState.defaultLeaseSeconds)
        try await store.setLease(45, epoch: 1, origin: WriteOrigin(server: "alpha", osUser: "root (sudo by alice)"))
        #expect(try await store.deployment()?.leaseSeconds == 45)
        let change = try #require(try await store.activationLog().last)
        #expect(change.outcome == .changed)
        #expect(change.server == "alpha")
        #expect(change.osUser == "root (sudo by alice)")
        #expect(change.detail == "lease set to 45 s (was 30 s)")
    }

    @Test(arguments: StoreFactory.all)
    func aDeploymentIsCreatedWithItsLease(_ factory: StoreFactory) async throws {
        let store = try await factory.newDatabase()()
        try await store.migrate(to: SchemaCatalog.current)
        try await store.register(Fixture.server("alpha", .primary), origin: .from("alpha"))
        let keySet = try KeySet.generate()
        let state = DeploymentState(activeServer: "alpha", epoch: 1, keySetID: keySet.id, keySetFingerprint: keySet.fingerprint,
                                    updatedAt: Date(), leaseSeconds: 0.1)
        await expectDeploymentError(.invalidRequest) { try await store.createDeployment(state, checkValues: [], origin: .from("alpha")) }
        var valid = state
        valid.leaseSeconds = 12.5
        try await store.createDeployment(valid, checkValues: [], origin: .from("alpha"))
        #expect(try await store.deployment()?.leaseSeconds == 12.5)
        #expect(try await store.activationLog().last?.detail.contains("lease 12.5 s") == true)
    }

    @Test(arguments: StoreFactory.all)
    func aLivePrimaryIsRefusedInsideTheActivationsTransaction(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        try await store.heartbeat(server: "alpha", epoch: 1)
        // A requested lease shorter than the deployment's changes nothing.
        for requested in [nil, 0.001, 1] as [TimeInterval?] {
            await expectDeploymentError(.primaryAlive) {
                try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id, requestedLease: requested))
            }
        }
        #expect(try await store.deployment()?.epoch == 1)
        #expect(try await store.deployment()?.activeServer == "alpha")
        #expect(try await store.activationAttempts().isEmpty)
        // Forced, with its reason: the log row says so, with the lease and the heartbeat's age.
        let forced = try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id, forceReason: "alpha's disk died"))
        #expect(forced.epoch == 2)
        let row = try #require(try await store.activationAttempts().last)
        #expect(row.outcome == .activated)
        #expect(row.forced)
        #expect(row.forcedReason == "alpha's disk died")
        #expect(row.leaseSeconds == DeploymentState.defaultLeaseSeconds)
        let age = try #require(row.previousHeartbeatAgeSeconds)
        #expect(age >= 0 && age < 10)
    }

    @Test(arguments: StoreFactory.all)
    func aRequestedLeaseLengthensAndTheLogRecordsIt(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        try await store.setLease(0.5, epoch: 1, origin: .from("alpha"))
        try await store.heartbeat(server: "alpha", epoch: 1)
        try await Task.sleep(for: .milliseconds(700))
        // Past the deployment's 0.5 s, but within a requested 60 s: still alive.
        await expectDeploymentError(.primaryAlive) {
            try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id, requestedLease: 60))
        }
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        let row = try #require(try await store.activationAttempts().last)
        #expect(row.leaseSeconds == 0.5)
        #expect(!row.forced && row.forcedReason == nil)
        #expect((row.previousHeartbeatAgeSeconds ?? 0) >= 0.5)
    }

    @Test(arguments: StoreFactory.all)
    func aPrimaryThatNeverBeatIsNotAliveAndTheLogSaysNever(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        let row = try #require(try await store.activationAttempts().last)
        #expect(row.previousHeartbeatAgeSeconds == nil)
        #expect(row.leaseSeconds == DeploymentState.defaultLeaseSeconds)
        #expect(!row.forced)
    }

    @Test(arguments: StoreFactory.all)
    func onlyActivationsMoveTheActivationTime(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let created = try #require(try await store.deployment())
        try await Task.sleep(for: .milliseconds(50))
        try await store.setPasswordSync(enabled: true, target: "beta", origin: .from("gamma"))
        let afterSync = try #require(try await store.deployment())
        #expect(afterSync.activatedAt == created.activatedAt)
        #expect(afterSync.updatedAt > created.updatedAt)
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        let activated = try #require(try await store.deployment())
        #expect(activated.activatedAt > afterSync.activatedAt)
    }

    @Test(arguments: StoreFactory.all)
    func administrativeWritesAreLoggedWithServerUserAndChange(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        let fencedAlpha = WriteOrigin(server: "alpha", osUser: "root (sudo by mallory, login mallory uid 1001)")
        try await store.setPasswordSync(enabled: true, target: "gamma", origin: fencedAlpha)
        try await store.register(Fixture.server("alpha", .primary, version: "1.0.0"), origin: fencedAlpha)
        try await store.register(Fixture.server("delta"), origin: .from("delta"))
        try await store.unregister("delta", origin: .from("beta"))
        let changes = try await store.activationLog().filter { $0.outcome == .changed }.suffix(4)
        #expect(changes.map(\.server) == ["alpha", "alpha", "delta", "beta"])
        #expect(changes.map(\.osUser).prefix(2).allSatisfy { $0 == fencedAlpha.osUser })
        #expect(changes.map(\.detail) == [
            "password synchronization enabled, target 'gamma' (was disabled)",
            "re-registered server 'alpha': version \(SchemaCatalog.currentSoftwareVersion) -> 1.0.0",
            "registered server 'delta' (role standby, version \(SchemaCatalog.currentSoftwareVersion))",
            "unregistered server 'delta'",
        ])
        #expect(changes.allSatisfy { $0.epoch == 1 })
    }

    @Test(arguments: StoreFactory.all)
    func namesThatCouldForgeOutputAreRefused(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        for name in ["evil\u{202E}gnp", "two\u{2028}lines", "esc\u{1B}[2J", "iso\u{2066}late"] {
            await expectDeploymentError(.invalidRequest) { try await store.register(Fixture.server(name), origin: .test) }
            await expectDeploymentError(.invalidRequest) {
                try await store.putSecret(Self.secret(name, 1), epoch: 1, origin: .from("alpha"))
            }
        }
        #expect(try await store.servers().count == 3)
        #expect(try await store.secrets().isEmpty)
    }

    /// The store keeps the tools' own naming rule (miisserver setup's, secret set's), so a name
    /// the tools refuse cannot enter the database through another client either.
    @Test(arguments: StoreFactory.all)
    func serverAndSecretNamesFollowTheToolsRule(_ factory: StoreFactory) async throws {
        let (store, _, _) = try await Fixture.deployed(factory)
        for name in ["sync 2", "sync/2", "caf\u{E9}", "tab\there", "", String(repeating: "s", count: 256)] {
            await expectDeploymentError(.invalidRequest) { try await store.register(Fixture.server(name), origin: .test) }
        }
        for name in ["my secret", "caf\u{E9}", "semi;colon", "", String(repeating: "s", count: 256)] {
            await expectDeploymentError(.invalidRequest) {
                try await store.putSecret(Self.secret(name, 1), epoch: 1, origin: .from("alpha"))
            }
        }
        #expect(try await store.servers().count == 3)
        #expect(try await store.secrets().isEmpty)
        // What the tools accept, the store accepts.
        let longest = String(repeating: "s", count: 255)
        try await store.register(Fixture.server("sync-2.example_B"), origin: .test)
        try await store.register(Fixture.server(longest), origin: .test)
        try await store.putSecret(Self.secret("crm/svc@corp:1_a-b.c", 1), epoch: 1, origin: .from("alpha"))
        #expect(try await store.servers().map(\.name).contains(longest))
        #expect(try await store.secrets().map(\.name) == ["crm/svc@corp:1_a-b.c"])
    }

    @Test(arguments: StoreFactory.all)
    func theCreationOfTheDeploymentIsLogged(_ factory: StoreFactory) async throws {
        let (store, _, keySet) = try await Fixture.deployed(factory)
        let log = try await store.activationLog()
        #expect(log.contains {
            $0.outcome == .changed && $0.detail == "created the deployment: primary 'alpha' at epoch 1, key set \(keySet.id.uuidString.lowercased()), lease 30 s"
        })
    }
}
