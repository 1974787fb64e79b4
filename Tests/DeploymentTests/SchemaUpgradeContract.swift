import Deployment
import Foundation
import KeyFile
import Testing

/// The service pack at the store layer, the same on both engines: the schema steps applied in
/// order in one transaction, only by the active server, with the re-registration and the log.
@Suite("Schema upgrade contract")
struct SchemaUpgradeContractTests {
    static func request(_ server: String, epoch: Int64?, schema: Int = SchemaCatalog.current) -> SchemaUpgradeRequest {
        SchemaUpgradeRequest(server: server, softwareVersion: SchemaCatalog.currentSoftwareVersion, schema: schema,
                             epoch: epoch, origin: .from(server))
    }

    /// A release-1.0 deployment (schema 1): primary "old" at epoch 1, standby "standby", a secret.
    static func release10Deployment(_ factory: StoreFactory) async throws -> (any DeploymentStore, StoredSecret) {
        let store = try await factory.newDatabase()()
        try await store.migrate(to: 1)
        try await store.register(Fixture.server("old", .primary, version: "1.0.0"), origin: .test)
        try await store.register(Fixture.server("standby", version: "1.0.0"), origin: .test)
        let keySet = try KeySet.generate()
        try await store.createDeployment(
            DeploymentState(activeServer: "old", epoch: 1, keySetID: keySet.id, keySetFingerprint: keySet.fingerprint, updatedAt: Date()),
            checkValues: DeploymentKeyCheck.checkValues(of: keySet), origin: .from("old"))
        let secret = StoredSecret(name: "crm", keyID: KeyID(rawValue: 1), nonce: Array(repeating: 7, count: 12), ciphertext: [1, 2, 3])
        try await store.putSecret(secret, epoch: 1, origin: .from("old"))
        return (store, secret)
    }

    @Test(arguments: StoreFactory.all)
    func onlyTheActiveServerMigratesStepByStepInOneTransaction(_ factory: StoreFactory) async throws {
        let (store, secret) = try await Self.release10Deployment(factory)
        let current = SchemaCatalog.current
        // A standby, and the active server's name at another epoch, may not migrate: nothing is written.
        let standby = await deploymentError { try await store.upgrade(Self.request("standby", epoch: nil)) }
        #expect(standby?.kind == .fenced)
        #expect(standby?.message == "server 'standby' is not the active server ('old' is, at epoch 1): only the active primary migrates the database schema (1 -> \(current))")
        #expect(standby?.remedy == .upgradeActiveServerFirst("old"))
        let stale = await deploymentError { try await store.upgrade(Self.request("old", epoch: 2)) }
        #expect(stale?.kind == .fenced)
        #expect(try await store.schemaVersion() == 1)
        #expect(try await store.servers().map(\.softwareVersion) == ["1.0.0", "1.0.0"])

        // The active server: every step from 1 to this software's schema, its registration, the log.
        let upgraded = try await store.upgrade(Self.request("old", epoch: 1))
        #expect(upgraded == SchemaUpgradeResult(fromSchema: 1, toSchema: current, previousSoftwareVersion: "1.0.0",
                                                softwareVersion: SchemaCatalog.currentSoftwareVersion))
        #expect(try await store.schemaVersion() == current)
        #expect(try await store.secrets() == [secret])
        let deployment = try #require(try await store.deployment())
        #expect(deployment.epoch == 1)
        #expect(deployment.leaseSeconds == DeploymentState.defaultLeaseSeconds)
        #expect(try await store.servers().map(\.softwareVersion) == [SchemaCatalog.currentSoftwareVersion, "1.0.0"])
        let changes = try await store.activationLog().filter { $0.outcome == .changed }
        #expect(changes.map(\.detail) == [
            "migrated the database schema 1 -> \(current) (software version \(SchemaCatalog.currentSoftwareVersion))",
            "re-registered server 'old': version 1.0.0 -> \(SchemaCatalog.currentSoftwareVersion)",
        ])
        #expect(changes.allSatisfy { $0.server == "old" && $0.epoch == 1 })

        // A re-run writes nothing; the standby then re-registers without a schema change.
        let again = try await store.upgrade(Self.request("old", epoch: 1))
        #expect(!again.changedDatabase)
        #expect(try await store.activationLog().count == changes.count)
        let reregistered = try await store.upgrade(Self.request("standby", epoch: nil))
        #expect(reregistered == SchemaUpgradeResult(fromSchema: current, toSchema: current, previousSoftwareVersion: "1.0.0",
                                                    softwareVersion: SchemaCatalog.currentSoftwareVersion))
        #expect(try await store.activationLog().last?.detail == "re-registered server 'standby': version 1.0.0 -> \(SchemaCatalog.currentSoftwareVersion)")

        // Never downgraded; an unknown server is refused.
        await expectDeploymentError(.schemaMismatch) { try await store.upgrade(Self.request("old", epoch: 1, schema: 1)) }
        await expectDeploymentError(.notRegistered) { try await store.upgrade(Self.request("nobody", epoch: nil)) }
        try await store.close()
    }

    /// The steps are one list, numbered from 1 without gaps, each naming its release, and the
    /// release catalogue is derived from it (so a new step needs one entry).
    @Test func theStepListIsContiguousAndNamesEachRelease() {
        #expect(SchemaCatalog.schemaForRelease == ["1.0": 1, "1.1": 2, "1.2": 3].merging(SchemaCatalog.schemaForRelease) { $1 })
        #expect(Set(SchemaCatalog.schemaForRelease.values) == Set(1...SchemaCatalog.schemaForRelease.count))
        #expect(SchemaCatalog.schema(forSoftwareVersion: ToolkitRelease.version) == SchemaCatalog.current)
        #expect(SchemaCatalog.schema(forSoftwareVersion: "1.1") == 2)
        #expect(SchemaCatalog.schema(forSoftwareVersion: "1..0") == nil)
        #expect(SchemaCatalog.schema(forSoftwareVersion: "9.9.9") == nil)
    }
}
