import Deployment
import Foundation
import Testing

/// sslmode against the test cluster's TLS (a throwaway CA, MIIS_TEST_POSTGRES_CA, whose server
/// certificate names localhost, not 127.0.0.1), and against a server without TLS.
@Suite("PostgreSQL store: TLS and sslmode (real server)")
struct PostgresTLSTests {
    /// The test URL and the CA file, or `nil` (after recording an issue in CI).
    func configured(_ test: String = #function) -> (url: String, ca: String)? {
        guard let url = PostgresTestServer.configuredURL(test) else { return nil }
        guard let ca = PostgresTestServer.environment["MIIS_TEST_POSTGRES_CA"], !ca.isEmpty else {
            Issue.record("MIIS_TEST_POSTGRES_CA is not set: scripts/with-postgres.sh sets it up when openssl is installed")
            return nil
        }
        return (url, ca)
    }

    static let encrypted = "DO $$ BEGIN IF NOT (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) THEN RAISE EXCEPTION 'not encrypted'; END IF; END $$"
    static let plain = "DO $$ BEGIN IF (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) THEN RAISE EXCEPTION 'encrypted'; END IF; END $$"

    func check(_ url: String, _ sql: String) async throws {
        let store = try PostgresDeploymentStore(url: url, environment: PostgresTestServer.environment)
        do {
            try await store.executeRawSQL(sql)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    @Test func modesThatConnect() async throws {
        guard let (url, ca) = configured() else { return }
        let port = try PostgresLocation(url: url).port
        try await check(url + "?sslmode=disable", Self.plain)
        try await check(url + "?sslmode=allow", Self.encrypted)
        try await check(url + "?sslmode=prefer", Self.encrypted)
        try await check(url + "?sslmode=require", Self.encrypted)
        try await check(url + "?sslmode=verify-ca&sslrootcert=\(ca)", Self.encrypted)
        try await check("postgres://miis@localhost:\(port)/miis?sslmode=verify-full&sslrootcert=\(ca)", Self.encrypted)
    }

    @Test func verifyFullChecksTheHostNameVerifyCADoesNot() async throws {
        guard let (url, ca) = configured() else { return }
        // The certificate names localhost; the URL says 127.0.0.1.
        try await check(url + "?sslmode=verify-ca&sslrootcert=\(ca)", Self.encrypted)
        let store = try PostgresDeploymentStore(url: url + "?sslmode=verify-full&sslrootcert=\(ca)", environment: PostgresTestServer.environment)
        let error = await deploymentError { _ = try await store.now() }
        try await store.close()
        #expect(error?.kind == .database)
        #expect(error?.message.contains("does not name the host") == true, "\(error?.message ?? "")")
        print("host mismatch: \(error?.message ?? "")")
    }

    @Test(arguments: ["verify-ca", "verify-full"])
    func untrustedCertificateRefused(_ mode: String) async throws {
        guard let (url, _) = configured() else { return }
        // Without the test CA (the system roots do not know it), verification fails.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("home-\(UUID().uuidString)").path
        var environment = PostgresTestServer.environment
        environment["HOME"] = home
        let started = Date()
        let store = try PostgresDeploymentStore(url: url + "?sslmode=\(mode)", environment: environment)
        let error = await deploymentError { _ = try await store.now() }
        try await store.close()
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(error?.kind == .database)
        #expect(error?.message.contains("TLS handshake failed") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
        print("untrusted certificate, sslmode=\(mode): \(error?.message ?? "")")
    }

    @Test func rootCertificateFromHomeDotPostgresql() async throws {
        guard let (url, ca) = configured() else { return }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home.appendingPathComponent(".postgresql"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: home) }
        try FileManager.default.copyItem(atPath: ca, toPath: home.appendingPathComponent(".postgresql/root.crt").path)
        var environment = PostgresTestServer.environment
        environment["HOME"] = home.path
        let store = try PostgresDeploymentStore(url: url + "?sslmode=verify-ca", environment: environment)
        try await store.executeRawSQL(Self.encrypted)
        try await store.close()
    }

    @Test func tlsRequiredButServerHasNone() async throws {
        guard PostgresTestServer.configuredURL() != nil else { return }
        let server = try NoTLSServer()
        defer { server.stop() }
        let store = try PostgresDeploymentStore(url: "postgres://miis@127.0.0.1:\(server.port)/miis?sslmode=require",
                                                environment: PostgresTestServer.environment)
        let error = await deploymentError { _ = try await store.now() }
        try await store.close()
        #expect(error?.kind == .database)
        #expect(error?.message == "PostgreSQL at 127.0.0.1:\(server.port)/miis does not accept TLS connections, but sslmode=require requires TLS")
    }
}

/// A listener that answers PostgreSQL's SSLRequest with 'N' (no TLS), like a server with ssl=off.
final class NoTLSServer: @unchecked Sendable {
    let listener: Int32
    let port: Int
    private let thread: Thread

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &address, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, size) } }) == 0,
              listen(descriptor, 4) == 0 else { throw DeploymentError(.database, "cannot listen") }
        var length = size
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        listener = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        thread = Thread {
            while true {
                let client = accept(descriptor, nil, nil)
                if client < 0 { return }
                var request = [UInt8](repeating: 0, count: 8)
                _ = read(client, &request, 8)
                var answer: UInt8 = UInt8(ascii: "N")
                _ = write(client, &answer, 1)
                var rest = [UInt8](repeating: 0, count: 1024)
                while read(client, &rest, 1024) > 0 {}
                close(client)
            }
        }
        thread.start()
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}
