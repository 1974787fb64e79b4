import Foundation
import Testing

/// The heartbeat as systemd runs it: no `HOME` (a unit without `User=`), no `PGPASSWORD`; the
/// password comes from libpq's password file rules, against the real PostgreSQL of
/// scripts/with-postgres.sh.
@Suite(.serialized) struct PostgresCredentialTests {
    /// A pgpass file in a fresh directory, `*:*:*:*:PASSWORD`, with `mode`.
    static func pgpass(_ password: String, mode: mode_t, in directory: TemporaryDirectory) throws -> String {
        let path = directory.file(".pgpass")
        try "*:*:*:*:\(password.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:"))\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        return path
    }

    /// `miisserver heartbeat` of `server` with HOME, PGPASSWORD and PGPASSFILE removed, then `extra` set.
    static func heartbeat(_ deployment: DeploymentFixture, _ server: String, extra: [String] = []) throws -> ToolRunner.Result {
        try ToolRunner.run("/usr/bin/env", ["-u", "HOME", "-u", "PGPASSWORD", "-u", "PGPASSFILE"] + extra
                                           + [ToolRunner.path(of: "miisserver"), "heartbeat", "--install-dir", deployment.installDirectory(server)],
                           currentDirectory: "/")
    }

    /// The shipped units' way: `PGPASSFILE` naming a credential file (0400, as LoadCredential= makes
    /// it). A file others may read is ignored as libpq ignores it, and said so.
    @Test func pgpassfileWithoutHome() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase(), let password = database.environment["PGPASSWORD"] else { return }
        let deployment = try DeploymentFixture(database: database.url, environment: database.environment)
        let files = try TemporaryDirectory("miis-credential")
        let credential = try Self.pgpass(password, mode: 0o400, in: files)
        let ok = try Self.heartbeat(deployment, "sync1", extra: ["PGPASSFILE=" + credential])
        #expect(ok.status == 0, "\(ok.stderr)")

        #expect(chmod(credential, 0o644) == 0)
        let loose = try Self.heartbeat(deployment, "sync1", extra: ["PGPASSFILE=" + credential])
        #expect(loose.status == 29)
        #expect(loose.stderr.contains("group or world access"), "\(loose.stderr)")
        #expect(!loose.allOutput.contains(password))
    }

    /// No HOME and no PGPASSFILE: `~/.pgpass` of the effective user's passwd entry. The home
    /// directory is replaced, in a private mount namespace, by a temporary one holding the file,
    /// so the host's own home is neither read nor written.
    @Test func passwdHomeWithoutHome() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase(), let password = database.environment["PGPASSWORD"] else { return }
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare"),
              let entry = getpwuid(geteuid()), let directory = entry.pointee.pw_dir else {
            Issue.record("needs root and unshare(1) to stand in for the passwd entry's home directory")
            return
        }
        let passwdHome = String(cString: directory)
        let deployment = try DeploymentFixture(database: database.url, environment: database.environment)

        func heartbeat(home: TemporaryDirectory) throws -> ToolRunner.Result {
            try ToolRunner.run("/usr/bin/unshare", [
                "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind \"$0\" \"$1\" && exec env -u HOME -u PGPASSWORD -u PGPASSFILE \"$2\" heartbeat --install-dir \"$3\"",
                home.path, passwdHome, ToolRunner.path(of: "miisserver"), deployment.installDirectory("sync1"),
            ], currentDirectory: "/")
        }

        let empty = try TemporaryDirectory("miis-home")
        let without = try heartbeat(home: empty)
        #expect(without.status == 29, "\(without.stderr)")
        #expect(without.stderr.contains("requires a password"), "\(without.stderr)")

        let home = try TemporaryDirectory("miis-home")
        _ = try Self.pgpass(password, mode: 0o600, in: home)
        let with = try heartbeat(home: home)
        #expect(with.status == 0, "\(with.stderr)")
    }
}
