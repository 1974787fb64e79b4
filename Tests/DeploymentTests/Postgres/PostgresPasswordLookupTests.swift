@testable import Deployment
import Foundation
import Testing

@Suite("PostgreSQL password lookup: PGPASSWORD, PGPASSFILE and ~/.pgpass (no server)")
struct PostgresPasswordLookupTests {
    let location = try! PostgresLocation(url: "postgres://miis@db.example.com:5433/deployment")

    /// A temporary password file with `mode`; removed by the caller's `defer`.
    func passFile(_ text: String, mode: mode_t = 0o600) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent(".pgpass").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    func remove(_ path: String) { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }

    @Test func parsing() {
        let entries = PostgresPasswordLookup.parse("""
            # comment
            db.example.com:5433:deployment:miis:pw1
            *:*:*:*:pw\\:with\\\\colon
            host:5432:db:user:pass:extra

            short:line
            """)
        #expect(entries == [
            .init(host: "db.example.com", port: "5433", database: "deployment", username: "miis", password: "pw1"),
            .init(host: "*", port: "*", database: "*", username: "*", password: "pw:with\\colon"),
            .init(host: "host", port: "5432", database: "db", username: "user", password: "pass"),
        ])
    }

    @Test func escapedColonInHostField() {
        let entries = PostgresPasswordLookup.parse("fe80\\:\\:1:5432:db:u:p\r\n")
        #expect(entries == [.init(host: "fe80::1", port: "5432", database: "db", username: "u", password: "p")])
    }

    @Test func pgpasswordWins() throws {
        let path = try passFile("*:*:*:*:from-file\n")
        defer { remove(path) }
        let result = PostgresPasswordLookup(environment: ["PGPASSWORD": "from-env", "PGPASSFILE": path]).password(for: location)
        #expect(result.password == "from-env")
        #expect(result.source == "PGPASSWORD")
    }

    @Test func emptyPGPASSWORDFallsBackToTheFile() throws {
        let path = try passFile("*:*:*:*:from-file\n")
        defer { remove(path) }
        let result = PostgresPasswordLookup(environment: ["PGPASSWORD": "", "PGPASSFILE": path]).password(for: location)
        #expect(result.password == "from-file")
        #expect(result.source == path)
    }

    @Test func firstMatchingLineWins() throws {
        let path = try passFile("""
            other.example.com:5433:deployment:miis:wrong-host
            db.example.com:5432:deployment:miis:wrong-port
            db.example.com:5433:other:miis:wrong-db
            db.example.com:5433:deployment:admin:wrong-user
            db.example.com:*:deployment:miis:right
            *:*:*:*:fallback
            """)
        defer { remove(path) }
        #expect(PostgresPasswordLookup(environment: ["PGPASSFILE": path]).password(for: location).password == "right")
    }

    @Test func homeDotPgpassIsTheDefault() throws {
        let path = try passFile("*:*:*:miis:from-home\n")
        defer { remove(path) }
        let home = (path as NSString).deletingLastPathComponent
        let lookup = PostgresPasswordLookup(environment: ["HOME": home])
        #expect(lookup.passwordFilePath == path)
        #expect(lookup.password(for: location).password == "from-home")
    }

    /// As under a systemd unit without `User=`: no `HOME`, so libpq's `~` is the effective
    /// user's home directory from the passwd database.
    @Test func homeUnsetUsesThePasswdEntrysHome() throws {
        let path = try passFile("*:*:*:miis:from-passwd-home\n")
        defer { remove(path) }
        let home = (path as NSString).deletingLastPathComponent
        for environment in [[:], ["HOME": ""]] {
            let lookup = PostgresPasswordLookup(environment: environment, passwdHomeDirectory: { home })
            #expect(lookup.passwordFilePath == path)
            #expect(lookup.password(for: location).password == "from-passwd-home")
        }
        // HOME, when set, is the home (libpq reads the passwd entry only without it).
        #expect(PostgresPasswordLookup(environment: ["HOME": "/elsewhere"], passwdHomeDirectory: { home }).passwordFilePath == "/elsewhere/.pgpass")
    }

    /// The default passwd lookup is the real one: the effective user's entry.
    @Test func passwdHomeIsTheEffectiveUsers() throws {
        let entry = try #require(getpwuid(geteuid()))
        let home = String(cString: try #require(entry.pointee.pw_dir))
        #expect(PostgresPasswordLookup(environment: [:]).passwordFilePath == (home.hasSuffix("/") ? home : home + "/") + ".pgpass")
    }

    /// A named PGPASSFILE that does not exist is not replaced by ~/.pgpass (libpq does not fall back).
    @Test func pgpassfileWinsEvenWhenMissing() throws {
        let path = try passFile("*:*:*:*:from-home\n")
        defer { remove(path) }
        let home = (path as NSString).deletingLastPathComponent
        let lookup = PostgresPasswordLookup(environment: ["PGPASSFILE": "/nonexistent/pgpass", "HOME": home], passwdHomeDirectory: { home })
        #expect(lookup.passwordFilePath == "/nonexistent/pgpass")
        #expect(lookup.password(for: location).password == nil)
    }

    /// Read-only for the owner (what systemd's LoadCredential= hands a service: 0400) is accepted.
    @Test func ownerOnlyModesAccepted() throws {
        for mode: mode_t in [0o600, 0o400] {
            let path = try passFile("*:*:*:*:owner-only\n", mode: mode)
            defer { remove(path) }
            let result = PostgresPasswordLookup(environment: ["PGPASSFILE": path]).password(for: location)
            #expect(result.password == "owner-only")
            #expect(result.warnings.isEmpty)
        }
    }

    @Test func groupOrWorldReadableFileIgnored() throws {
        for mode: mode_t in [0o640, 0o604, 0o660, 0o610, 0o601, 0o620] {
            let path = try passFile("*:*:*:*:secret-pw\n", mode: mode)
            defer { remove(path) }
            let result = PostgresPasswordLookup(environment: ["PGPASSFILE": path]).password(for: location)
            #expect(result.password == nil)
            #expect(result.warnings.count == 1)
            #expect(result.warnings.first?.contains("group or world access") == true)
            #expect(result.warnings.first?.contains("secret-pw") == false)
        }
    }

    @Test func missingFileOrNoMatchGivesNoPassword() throws {
        #expect(PostgresPasswordLookup(environment: ["PGPASSFILE": "/nonexistent/pgpass"]).password(for: location).password == nil)
        #expect(PostgresPasswordLookup(environment: [:], passwdHomeDirectory: { "/nonexistent" }).password(for: location).password == nil)
        #expect(PostgresPasswordLookup(environment: [:], passwdHomeDirectory: { nil }).passwordFilePath == nil)
        let path = try passFile("elsewhere:*:*:*:pw\n")
        defer { remove(path) }
        let result = PostgresPasswordLookup(environment: ["PGPASSFILE": path]).password(for: location)
        #expect(result.password == nil)
        #expect(result.warnings.isEmpty)
    }

    @Test func directoryIsNotAPasswordFile() {
        let result = PostgresPasswordLookup(environment: ["PGPASSFILE": "/tmp"]).password(for: location)
        #expect(result.password == nil)
        #expect(result.warnings.count == 1)
    }

    @Test func unixSocketMatchesLocalhostOrTheDirectory() throws {
        let socket = try PostgresLocation(url: "postgres://miis@/deployment?host=/run/postgresql&port=5433")
        let path = try passFile("localhost:5433:deployment:miis:via-localhost\n")
        defer { remove(path) }
        #expect(PostgresPasswordLookup(environment: ["PGPASSFILE": path]).password(for: socket).password == "via-localhost")
        let path2 = try passFile("/run/postgresql:5433:deployment:miis:via-dir\n")
        defer { remove(path2) }
        #expect(PostgresPasswordLookup(environment: ["PGPASSFILE": path2]).password(for: socket).password == "via-dir")
        // localhost does not match a TCP connection to another host.
        #expect(PostgresPasswordLookup(environment: ["PGPASSFILE": path]).password(for: location).password == nil)
    }
}
