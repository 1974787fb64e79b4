import Deployment
import Foundation
import KeyFile
import Logging
import PostgresNIO
import Testing

/// The throwaway PostgreSQL server of scripts/with-postgres.sh, and one fresh database per test.
///
/// Without `MIIS_TEST_POSTGRES_URL`, a server test records a failure when `CI` is set (never a
/// silent skip in CI) and otherwise prints that it was skipped.
enum PostgresTestServer {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The URL of the `miis` role's database, or `nil` (after recording an issue in CI).
    static func configuredURL(_ test: String = #function) -> String? {
        if let url = environment["MIIS_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        if let ci = environment["CI"], !ci.isEmpty {
            Issue.record("MIIS_TEST_POSTGRES_URL is not set but CI is: run the tests under scripts/with-postgres.sh (PostgreSQL tests are never skipped in CI)")
        } else {
            print("SKIPPED \(test): MIIS_TEST_POSTGRES_URL is not set; run under scripts/with-postgres.sh to test PostgreSQL")
        }
        return nil
    }

    static let logger = Logger(label: "miis.tests.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `sql` as the superuser of the test cluster, outside any transaction (CREATE/DROP DATABASE).
    static func admin(_ statements: [String]) async throws {
        guard let adminURL = environment["MIIS_TEST_POSTGRES_ADMIN_URL"] else {
            throw DeploymentError(.database, "MIIS_TEST_POSTGRES_ADMIN_URL is not set")
        }
        let location = try PostgresLocation(url: adminURL)
        guard case .tcp(let host, let port) = location.endpoint else { throw DeploymentError(.database, "admin URL must be TCP") }
        let configuration = PostgresConnection.Configuration(
            host: host, port: port, username: location.username, password: environment["PGPASSWORD"],
            database: location.database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 99, logger: logger)
        do {
            for statement in statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// The test URL with another database name.
    static func url(_ base: String, database: String) throws -> String {
        var location = try PostgresLocation(url: base)
        location.database = database
        return location.redacted
    }

    /// Runs `body` with the URL of a fresh, empty database owned by the `miis` role, dropped afterwards.
    /// Returns without running `body` when no server is configured (see ``configuredURL``).
    static func withFreshDatabase(_ test: String = #function, _ body: (String) async throws -> Void) async throws {
        guard let base = configuredURL(test) else { return }
        let name = "miis_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        try await admin(["CREATE DATABASE \(name) OWNER miis"])
        do {
            try await body(try url(base, database: name))
        } catch {
            try? await admin(["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
            throw error
        }
        try await admin(["DROP DATABASE IF EXISTS \(name) WITH (FORCE)"])
    }

    /// A store on `url`, with the process environment (PGPASSWORD).
    static func store(_ url: String) throws -> PostgresDeploymentStore {
        try PostgresDeploymentStore(url: url, environment: environment)
    }

    /// Runs `body` with a store on a fresh database migrated to the current schema; closes it afterwards.
    static func withStore(_ test: String = #function, migrated: Bool = true,
                          _ body: (PostgresDeploymentStore, String) async throws -> Void) async throws {
        try await withFreshDatabase(test) { url in
            let store = try store(url)
            do {
                if migrated { try await store.migrate(to: SchemaCatalog.current) }
                try await body(store, url)
            } catch {
                try? await store.close()
                throw error
            }
            try await store.close()
        }
    }
}

/// Sample rows for the store tests.
enum PostgresSamples {
    static let keySetID = UUID(uuidString: "6F1C2A3B-4D5E-4F60-8172-93A4B5C6D7E8")!

    static func server(_ name: String, role: ServerRole = .standby, version: String = SchemaCatalog.currentSoftwareVersion) -> RegisteredServer {
        RegisteredServer(name: name, softwareVersion: version, role: role, registeredAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    static func deployment(active: String = "primary-1", epoch: Int64 = 1) -> DeploymentState {
        DeploymentState(activeServer: active, epoch: epoch, keySetID: keySetID, keySetFingerprint: "sha256:abcd",
                        updatedAt: Date(timeIntervalSince1970: 0))
    }

    static let checkValues = [
        KeyCheckValue(keyID: KeyID(rawValue: 1), checkValue: Array(repeating: 0xA1, count: 16)),
        KeyCheckValue(keyID: KeyID(rawValue: 2), checkValue: [0x00, 0xFF, 0x10]),
    ]

    /// A store with a primary, two standbys and a deployment at epoch 1.
    static func setUp(_ store: PostgresDeploymentStore) async throws {
        try await store.register(server("primary-1", role: .primary), origin: .test)
        try await store.register(server("standby-1"), origin: .test)
        try await store.register(server("standby-2"), origin: .test)
        try await store.createDeployment(deployment(), checkValues: checkValues, origin: .test)
    }

    static func request(_ server: String, epoch: Int64 = 1, keySet: UUID = keySetID, detail: String = "",
                        forceReason: String? = nil) -> ActivationRequest {
        ActivationRequest(server: server, expectedEpoch: epoch, keySetID: keySet, osUser: "root", detail: detail, forceReason: forceReason)
    }
}

extension PostgresTestServer {
    /// Whether PostgreSQL tests must run: a server is configured, or CI is set (where a missing
    /// server is a failure, never a skip).
    static var mustRun: Bool {
        !(environment["MIIS_TEST_POSTGRES_URL"] ?? "").isEmpty || !(environment["CI"] ?? "").isEmpty
    }

    /// For the generic store contract (its factories make a database synchronously and open any
    /// number of stores on it): the returned opener creates a fresh database on its first call and
    /// returns a new store (a new connection) on each call. The databases are left to the
    /// throwaway cluster of scripts/with-postgres.sh. Without a configured server the opener
    /// throws, so a contract test fails rather than passes vacuously. Usage in the contract suite:
    ///
    ///     static let postgres = StoreFactory(name: "PostgreSQL") { try PostgresTestServer.contractOpener() }
    ///     static let all: [StoreFactory] = [.sqlite] + (PostgresTestServer.mustRun ? [.postgres] : [])
    static func contractOpener() throws -> @Sendable () async throws -> any DeploymentStore {
        guard let base = environment["MIIS_TEST_POSTGRES_URL"], !base.isEmpty else {
            throw DeploymentError(.database, "MIIS_TEST_POSTGRES_URL is not set: run the tests under scripts/with-postgres.sh")
        }
        let name = "miis_contract_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let url = try url(base, database: name)
        let created = DatabaseCreation()
        return {
            try await created.once { try await admin(["CREATE DATABASE \(name) OWNER miis"]) }
            return try PostgresDeploymentStore(url: url, environment: environment)
        }
    }
}

/// Runs an async action once, for every caller.
actor DatabaseCreation {
    private var done = false
    func once(_ action: () async throws -> Void) async throws {
        guard !done else { return }
        try await action()
        done = true
    }
}
