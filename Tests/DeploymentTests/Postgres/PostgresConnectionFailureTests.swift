import Deployment
import Foundation
import Testing

@Suite("PostgreSQL store: connection failures (real server)")
struct PostgresConnectionFailureTests {
    /// Runs `body` and checks it failed with a `.database` error quickly; returns the message.
    func failure(_ url: String, environment: [String: String], within seconds: TimeInterval = 15) async throws -> String? {
        let started = Date()
        let store = try PostgresDeploymentStore(url: url, environment: environment)
        let error = await deploymentError { _ = try await store.schemaVersion() }
        try await store.close()
        #expect(Date().timeIntervalSince(started) < seconds)
        #expect(error?.kind == .database)
        if let password = PostgresTestServer.environment["PGPASSWORD"] {
            #expect(error?.message.contains(password) == false)
        }
        return error?.message
    }

    @Test func serverDown() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        var location = try PostgresLocation(url: base)
        // Port 1 on the loopback: nothing listens there.
        location.endpoint = .tcp(host: "127.0.0.1", port: 1)
        let message = try await failure(location.redacted, environment: PostgresTestServer.environment, within: 5)
        #expect(message == "cannot connect to PostgreSQL at 127.0.0.1:1/\(location.database): connection refused")
    }

    @Test func socketMissing() async throws {
        guard PostgresTestServer.configuredURL() != nil else { return }
        let message = try await failure("postgres://miis@/miis?host=/nonexistent-dir", environment: PostgresTestServer.environment, within: 5)
        #expect(message?.hasPrefix("cannot connect to PostgreSQL at /nonexistent-dir/.s.PGSQL.5432/miis:") == true)
    }

    @Test func wrongPassword() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        var environment = PostgresTestServer.environment
        environment["PGPASSWORD"] = "definitely-wrong"
        let message = try await failure(base, environment: environment)
        #expect(message?.hasPrefix("PostgreSQL rejected the password for user miis") == true, "\(message ?? "")")
        #expect(message?.contains("definitely-wrong") == false)
    }

    @Test func noPasswordAnywhere() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("home-\(UUID().uuidString)").path
        let message = try await failure(base, environment: ["HOME": home])
        #expect(message?.contains("requires a password for user miis") == true, "\(message ?? "")")
    }

    @Test func passwordFromPgpass() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        let password = try #require(PostgresTestServer.environment["PGPASSWORD"])
        let location = try PostgresLocation(url: base)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("pgpass").path
        try "wronghost:*:*:*:nope\n127.0.0.1:\(location.port):*:miis:\(password)\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, 0o600) == 0)
        let store = try PostgresDeploymentStore(url: base, environment: ["PGPASSFILE": path])
        #expect(abs(try await store.now().timeIntervalSinceNow) < 60)
        try await store.close()

        // Group-readable: ignored like libpq does, and the message says why.
        #expect(chmod(path, 0o644) == 0)
        let message = try await failure(base, environment: ["PGPASSFILE": path])
        #expect(message?.contains("requires a password") == true)
        #expect(message?.contains("group or world access") == true, "\(message ?? "")")
    }

    @Test func databaseMissing() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        let url = try PostgresTestServer.url(base, database: "no_such_database_here")
        let message = try await failure(url, environment: PostgresTestServer.environment)
        #expect(message?.hasPrefix("database no_such_database_here does not exist") == true, "\(message ?? "")")
    }

    @Test func preferFallsBackToPlain() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        let store = try PostgresDeploymentStore(url: base + "?sslmode=prefer", environment: PostgresTestServer.environment)
        _ = try await store.now()
        try await store.close()
    }

    @Test func unresponsiveServerTimesOut() async throws {
        guard PostgresTestServer.configuredURL() != nil else { return }
        // A listening socket that never answers the startup message.
        let listener = try LoopbackListener()
        defer { listener.close() }
        let port = listener.port
        let message = try await failure("postgres://miis@127.0.0.1:\(port)/miis?connect_timeout=2&sslmode=disable",
                                        environment: PostgresTestServer.environment, within: 6)
        #expect(message?.contains("timed out after 2 s") == true, "\(message ?? "")")
    }

    /// A server that accepts and authenticates, then stops answering before the session-state
    /// query of `target_session_attrs` returns: bounded by `connect_timeout` like the connection
    /// itself (before the fix that query had no bound and the command waited as long as TCP did).
    @Test func serverThatStopsAnsweringAfterConnectingTimesOut() async throws {
        guard let base = PostgresTestServer.configuredURL() else { return }
        var location = try PostgresLocation(url: base)
        let relay = try StallingRelay(toPort: location.port)
        location.endpoint = .tcp(host: "127.0.0.1", port: relay.port)
        location.connectTimeout = 2
        location.sslMode = .disable
        location.targetSessionAttributes = .readWrite
        let message = try await failure(location.redacted, environment: PostgresTestServer.environment, within: 8)
        #expect(message == "PostgreSQL at 127.0.0.1:\(relay.port)/\(location.database) did not answer within 2 s after connecting",
                "\(message ?? "")")
    }
}
