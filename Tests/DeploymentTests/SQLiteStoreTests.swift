import Deployment
import Foundation
import KeyFile
import Testing

@Suite("SQLite store specifics")
struct SQLiteStoreTests {
    static func temporaryPath(_ name: String = "deployment.sqlite") throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("miis-sqlite-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return "\(directory)/\(name)"
    }

    @Test func activationLogRefusesUpdateAndDelete() async throws {
        let (store, _, keySet) = try await Fixture.deployed(.sqlite)
        try await store.activate(Fixture.request("beta", epoch: 1, keySet: keySet.id))
        let sqlite = try #require(store as? SQLiteDeploymentStore)
        for sql in ["UPDATE activation_log SET detail = 'rewritten'", "DELETE FROM activation_log"] {
            do {
                try await sqlite.executeRawSQL(sql)
                Issue.record("\(sql) was allowed")
            } catch let error as DeploymentError {
                #expect(error.kind == .database)
                #expect(error.message.contains("append-only"))
            }
        }
        let log = try await store.activationAttempts()
        #expect(log.count == 1 && log[0].detail == "")
    }

    @Test func schemaIsCreatedInWALModeAndIsSound() async throws {
        let store = try SQLiteDeploymentStore(path: try Self.temporaryPath(), create: true)
        try await store.migrate(to: SchemaCatalog.current)
        #expect(try await store.journalMode() == "wal")
        #expect(try await store.integrityCheck() == "ok")
    }

    @Test func foreignSQLiteDatabaseIsRefusedAndLeftAlone() async throws {
        let path = try Self.temporaryPath("other.sqlite")
        let raw = try SQLiteDeploymentStore(path: path, create: true)
        try await raw.executeRawSQL("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
        try await raw.close()
        let store = try SQLiteDeploymentStore(path: path)
        await expectDeploymentError(.database) { _ = try await store.schemaVersion() }
        await expectDeploymentError(.database) { try await store.migrate(to: SchemaCatalog.current) }
        await expectDeploymentError(.database) { _ = try await store.servers() }
        #expect(try await store.journalMode() != "wal")
    }

    @Test func metaTableWithoutOurMarkerIsRefused() async throws {
        let path = try Self.temporaryPath()
        let raw = try SQLiteDeploymentStore(path: path, create: true)
        try await raw.executeRawSQL("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('product', 'someone-else')")
        do {
            _ = try await raw.schemaVersion()
            Issue.record("a foreign meta table was accepted")
        } catch let error as DeploymentError {
            #expect(error.kind == .database)
            #expect(error.message.contains("not a MIIS deployment database"))
        }
    }

    @Test func nonSQLiteFileIsRefused() async throws {
        let path = try Self.temporaryPath("notes.txt")
        try Data(String(repeating: "this is not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: path))
        await expectDeploymentError(.database) {
            let store = try SQLiteDeploymentStore(path: path)
            _ = try await store.schemaVersion()
        }
    }

    @Test func missingFileIsRefusedUnlessCreating() async throws {
        let path = try Self.temporaryPath()
        await expectDeploymentError(.database) { _ = try SQLiteDeploymentStore(path: path) }
        #expect(!FileManager.default.fileExists(atPath: path))
        await expectDeploymentError(.database) { _ = try SQLiteDeploymentStore(path: (path as NSString).deletingLastPathComponent) }
    }

    @Test func newerSchemaIsASchemaMismatch() async throws {
        let (store, _, _) = try await Fixture.deployed(.sqlite)
        let sqlite = try #require(store as? SQLiteDeploymentStore)
        try await sqlite.executeRawSQL("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        #expect(try await store.schemaVersion() == 99)
        await expectDeploymentError(.schemaMismatch) { _ = try await store.deployment() }
        await expectDeploymentError(.schemaMismatch) { try await store.migrate(to: SchemaCatalog.current) }
    }

    @Test func schema2AddsTheSecretsUpdatedAtColumn() async throws {
        let path = try Self.temporaryPath()
        let store = try SQLiteDeploymentStore(path: path, create: true)
        try await store.migrate(to: 1)
        await expectDeploymentError(.database) { try await store.executeRawSQL("SELECT updated_at FROM secrets") }
        try await store.migrate(to: 2)
        try await store.executeRawSQL("SELECT updated_at FROM secrets")
    }

    @Test func factoryPicksTheEngine() async throws {
        #expect(DeploymentStoreFactory.engine(for: "/var/lib/miis/db.sqlite") == .sqlite)
        #expect(DeploymentStoreFactory.engine(for: "postgres://db/miis") == .postgresql)
        #expect(DeploymentStoreFactory.engine(for: "POSTGRESQL://db/miis") == .postgresql)
        // A PostgreSQL URL gets the PostgreSQL store (which connects on first use) ...
        #expect(try DeploymentStoreFactory.open(location: "postgresql://miis@db.example/miis") is PostgresDeploymentStore)
        // ... and a password in the URL is refused without echoing it.
        do {
            _ = try DeploymentStoreFactory.open(location: "postgresql://miis:hunter2@db.example/miis")
            Issue.record("a URL with a password was accepted")
        } catch let error as DeploymentError {
            #expect(error.kind == .database)
            #expect(!error.message.contains("hunter2"))
        }
        let path = try Self.temporaryPath()
        let store = try DeploymentStoreFactory.open(location: path, create: true)
        #expect(store is SQLiteDeploymentStore)
        await expectDeploymentError(.database) { _ = try DeploymentStoreFactory.open(location: path + ".missing") }
    }
}
