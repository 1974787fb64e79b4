import Deployment
import Foundation
import KeyFile
import Testing

/// docs/postgresql.md's least-privilege setup, checked: the owner role sets up the primary, the
/// runtime role with exactly the documented GRANTs does everything else and nothing more.
@Suite("PostgreSQL store: least-privilege runtime role (real server)")
struct PostgresPrivilegeTests {
    /// The GRANT docs/postgresql.md gives for the table schema 4 (release 1.3) adds, after an upgrade to it.
    static func schema4Grant(_ role: String) -> String { "GRANT SELECT ON key_set_history TO \(role)" }

    /// The GRANTs of docs/postgresql.md, for a runtime role named `role`, on a database of
    /// `schema` (before schema 4 there is no `key_set_history` to grant on).
    static func documentedGrants(_ role: String, schema: Int = SchemaCatalog.current) -> [String] {
        [
            "GRANT USAGE ON SCHEMA public TO \(role)",
            schema >= 4 ? "GRANT SELECT ON meta, key_check_values, key_set_history TO \(role)" : "GRANT SELECT ON meta, key_check_values TO \(role)",
            "GRANT SELECT, INSERT, UPDATE ON servers, secrets TO \(role)",
            "GRANT DELETE ON servers TO \(role)",
            "GRANT SELECT, UPDATE ON deployment TO \(role)",
            "GRANT SELECT, INSERT ON activation_log TO \(role)",
        ]
    }

    @Test func runtimeRoleDoesTheRuntimeWorkAndNothingMore() async throws {
        guard let password = PostgresTestServer.environment["PGPASSWORD"] else {
            _ = PostgresTestServer.configuredURL()
            return
        }
        let role = "miis_rt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try await PostgresTestServer.admin(["CREATE ROLE \(role) LOGIN PASSWORD '\(password)'"])
        do {
            try await PostgresTestServer.withStore { owner, url in
                try await PostgresSamples.setUp(owner)
                for grant in Self.documentedGrants(role) { try await owner.executeRawSQL(grant) }

                var location = try PostgresLocation(url: url)
                location.username = role
                let runtime = try PostgresDeploymentStore(location: location, environment: PostgresTestServer.environment)
                do {
                    #expect(try await runtime.schemaVersion() == SchemaCatalog.current)
                    try await runtime.register(PostgresSamples.server("standby-3"), origin: .test)
                    #expect(try await runtime.servers().count == 4)
                    try await runtime.unregister("standby-1", origin: .test)
                    #expect(try await runtime.servers().count == 3)
                    try await runtime.heartbeat(server: "primary-1", epoch: 1)
                    #expect(try await runtime.activeServerHeartbeatAge() != nil)
                    try await runtime.setPasswordSync(enabled: true, target: "standby-3", origin: .test)
                    try await runtime.putSecret(StoredSecret(name: "c", keyID: KeyID(rawValue: 1), nonce: [1], ciphertext: [2]), epoch: 1, origin: .from("primary-1"))
                    try await runtime.putSecret(StoredSecret(name: "c", keyID: KeyID(rawValue: 2), nonce: [1], ciphertext: [2]), epoch: 1, origin: .from("primary-1"))
                    #expect(try await runtime.secrets().count == 1)
                    #expect(try await runtime.checkValues() == PostgresSamples.checkValues)
                    try await runtime.appendLog(ActivationLogEntry(time: Date(), server: "standby-2", previousServer: "primary-1", epoch: 1,
                                                                   keySetID: nil, osUser: "root", outcome: .refused, detail: "alive"))
                    let state = try await runtime.activate(PostgresSamples.request("standby-3", forceReason: "primary alive: the runtime role forces"))
                    #expect(state.epoch == 2)
                    #expect(try await runtime.activationAttempts().count == 2)
                    _ = try await runtime.now()
                    // status and miisactivate read the replication mode as the runtime role.
                    #expect(try await runtime.commitDurability().mode == CommitDurability.Mode.none)

                    // What the runtime role must not do.
                    let second = await deploymentError { try await runtime.executeRawSQL("DELETE FROM deployment") }
                    #expect(second?.message.contains("denied user \(role) a privilege") == true, "\(second?.message ?? "")")
                    let checkValues = await deploymentError { try await runtime.executeRawSQL("DELETE FROM key_check_values") }
                    #expect(checkValues?.kind == .database)
                    let forge = await deploymentError { try await runtime.executeRawSQL("UPDATE activation_log SET detail = 'x'") }
                    #expect(forge?.message.contains("a privilege") == true)
                    // A key-set change rewrites the check values: the owner's job (docs/postgresql.md).
                    let next = try KeySet(id: PostgresSamples.keySetID, keys: try KeySet.generate().keys, generation: 2)
                    let rotation = await deploymentError {
                        try await runtime.changeKeySet(KeySetChange(expectedEpoch: 2, expectedGeneration: 1, keySet: next,
                                                                    keys: DeploymentKeyCheck.checkValues(of: next), reason: .rotate, detail: "runtime"),
                                                       origin: .from("standby-3"))
                    }
                    #expect(rotation?.kind == .database, "\(rotation?.message ?? "")")
                    #expect(try await runtime.deployment()?.keySetGeneration == 1)
                    #expect(try await runtime.keySetHistory().count == 1)
                    let ddl = await deploymentError { try await runtime.executeRawSQL("CREATE TABLE evil (x int)") }
                    #expect(ddl?.kind == .database)
                    let migrate = await deploymentError { try await runtime.executeRawSQL("ALTER TABLE secrets ADD COLUMN x int") }
                    #expect(migrate?.kind == .database)
                } catch {
                    try? await runtime.close()
                    throw error
                }
                try await runtime.close()
            }
        } catch {
            // The test database (and with it the role's privileges) is gone by now.
            try? await PostgresTestServer.admin(["DROP ROLE IF EXISTS \(role)"])
            throw error
        }
        try await PostgresTestServer.admin(["DROP ROLE IF EXISTS \(role)"])
    }

    /// `miisserver upgrade` with the runtime role: the migration (DDL) is refused clearly, in its
    /// one transaction, so nothing changes; the re-registration alone (a standby's upgrade) works;
    /// the owner role migrates.
    @Test func runtimeRoleMayNotMigrateTheSchemaOwnerMay() async throws {
        guard let password = PostgresTestServer.environment["PGPASSWORD"] else {
            _ = PostgresTestServer.configuredURL()
            return
        }
        let role = "miis_rt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try await PostgresTestServer.admin(["CREATE ROLE \(role) LOGIN PASSWORD '\(password)'"])
        do {
            try await upgradeAsRuntimeAndOwner(role)
        } catch {
            try? await PostgresTestServer.admin(["DROP ROLE IF EXISTS \(role)"])
            throw error
        }
        try await PostgresTestServer.admin(["DROP ROLE IF EXISTS \(role)"])
    }

    private func upgradeAsRuntimeAndOwner(_ role: String) async throws {
        try await PostgresTestServer.withStore(migrated: false) { owner, url in
            try await owner.migrate(to: 2)
            try await owner.register(PostgresSamples.server("primary-1", role: .primary, version: "1.1.0"), origin: .test)
            try await owner.register(PostgresSamples.server("standby-1", version: "1.1.0"), origin: .test)
            try await owner.createDeployment(PostgresSamples.deployment(), checkValues: PostgresSamples.checkValues, origin: .test)
            for grant in Self.documentedGrants(role, schema: 2) { try await owner.executeRawSQL(grant) }
            var location = try PostgresLocation(url: url)
            location.username = role
            let runtime = try PostgresDeploymentStore(location: location, environment: PostgresTestServer.environment)
            func upgrade(_ store: PostgresDeploymentStore, _ server: String, epoch: Int64?) async throws -> SchemaUpgradeResult {
                try await store.upgrade(SchemaUpgradeRequest(server: server, softwareVersion: SchemaCatalog.currentSoftwareVersion,
                                                             schema: SchemaCatalog.current, epoch: epoch, origin: .from(server)))
            }
            do {
                let refused = await deploymentError { _ = try await upgrade(runtime, "primary-1", epoch: 1) }
                #expect(refused?.kind == .database)
                #expect(refused?.message.hasPrefix("PostgreSQL user \(role) may not migrate the database schema 2 -> \(SchemaCatalog.current) (") == true,
                        "\(refused?.message ?? "")")
                #expect(refused?.message.hasSuffix("): the migration alters tables, which only the role owning them may (docs/postgresql.md); nothing was changed") == true)
                #expect(refused?.remedy == .upgradeWithOwnerRole)
                #expect(try await runtime.schemaVersion() == 2)
                #expect(try await runtime.servers().map(\.softwareVersion) == ["1.1.0", "1.1.0"])

                #expect(try await upgrade(owner, "primary-1", epoch: 1).fromSchema == 2)
                #expect(try await runtime.schemaVersion() == SchemaCatalog.current)
                // The table schema 4 adds needs its GRANT after the upgrade, as docs/postgresql.md says.
                try await owner.executeRawSQL(Self.schema4Grant(role))
                #expect(try await runtime.keySetHistory().map(\.generation) == [1])
                let standby = try await upgrade(runtime, "standby-1", epoch: nil)
                #expect(standby.previousSoftwareVersion == "1.1.0")
                #expect(try await runtime.servers().map(\.softwareVersion) == [SchemaCatalog.currentSoftwareVersion, SchemaCatalog.currentSoftwareVersion])
            } catch {
                try? await runtime.close()
                throw error
            }
            try await runtime.close()
        }
    }
}
