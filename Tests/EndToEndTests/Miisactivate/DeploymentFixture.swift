import Foundation
import Testing

/// A throwaway deployment built with the real `miisserver` and `keytool`: a primary and standbys
/// in temporary installation directories sharing one database, and a key backup of the primary.
/// KDF parameters are deliberately weak so the suite stays fast.
final class DeploymentFixture: @unchecked Sendable {
    static let account = "CORP\\svc-sync"
    static let password = "pässwörd-Ω-correct horse"
    static let weakKDF = ["--allow-weak-kdf", "--scrypt-log-n", "10"]

    let root: TemporaryDirectory
    let database: String
    let passwordFile: String
    let backup: String
    let primary = "sync1"

    /// `standbys` names the standby servers; `standbyVersion` lets a test install an older release.
    /// Extra environment for every tool run (PostgreSQL's `PGPASSWORD`).
    let environment: [String: String]

    /// `lease` is the deployment's lease set at the primary's setup (default: the product's 30 s).
    init(standbys: [String] = ["sync2"], database: String? = nil, standbyVersion: String? = nil,
         adminGroup: String = "root", lease: Double? = nil, environment: [String: String] = [:]) throws {
        self.environment = environment
        root = try TemporaryDirectory("miis-e2e")
        self.database = database ?? root.file("shared.db")
        passwordFile = root.file("password")
        backup = root.file("miis_keys.bin")
        try (Self.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)

        try expectSuccess(miisserver(primary, ["setup", "--name", primary, "--database", self.database, "--role", "primary",
                                               "--account", Self.account, "--admin-group", adminGroup,
                                               "--password-file", passwordFile] + Self.weakKDF
                                               + (lease.map { ["--lease", String($0)] } ?? [])))
        for standby in standbys {
            var arguments = ["setup", "--name", standby, "--database", self.database, "--role", "standby",
                             "--account", Self.account, "--admin-group", adminGroup]
            if let standbyVersion { arguments += ["--version", standbyVersion] }
            try expectSuccess(miisserver(standby, arguments))
        }
        try expectSuccess(ToolRunner.run("miisserver", ["backup", "--install-dir", installDirectory(primary), "-o", backup,
                                                     "--password-file", passwordFile] + Self.weakKDF, environment: environment))
    }

    func installDirectory(_ server: String) -> String { root.file(server) }

    @discardableResult
    func miisserver(_ server: String, _ arguments: [String], stdin: String? = nil) throws -> ToolRunner.Result {
        try ToolRunner.run("miisserver", arguments + ["--install-dir", installDirectory(server)], stdin: stdin, environment: environment)
    }

    /// Runs miisactivate on `server` with the backup, quiet, the password via `*` on stdin.
    @discardableResult
    func activate(_ server: String, keyFile: String? = nil, password: String? = nil, extra: [String] = [],
                  environment: [String: String] = [:]) throws -> ToolRunner.Result {
        try ToolRunner.run("miisactivate", [keyFile ?? backup, Self.account, "*", "/q", "--allow-weak-kdf",
                                            "--install-dir", installDirectory(server)] + extra,
                           stdin: (password ?? Self.password) + "\n", environment: self.environment.merging(environment) { $1 })
    }

    /// The deployment as `miisserver status --json` reports it from `server`.
    func status(from server: String) throws -> [String: Any] {
        let result = try miisserver(server, ["status", "--json"])
        try expectSuccess(result)
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    func history(from server: String) throws -> [[String: Any]] {
        let result = try miisserver(server, ["history", "--json"])
        try expectSuccess(result)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        if let dictionary = object as? [String: Any] { return dictionary["entries"] as? [[String: Any]] ?? [] }
        return object as? [[String: Any]] ?? []
    }

    private func expectSuccess(_ result: ToolRunner.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard result.status == 0 else {
            Issue.record("command failed (\(result.status)): \(result.stderr)", sourceLocation: sourceLocation)
            throw FixtureError.commandFailed(result.stderr)
        }
    }

    enum FixtureError: Error { case commandFailed(String) }
}

extension DeploymentFixture {
    /// The deployment's epoch and active server, read through `miisserver status --json`.
    func deploymentState(from server: String = "sync1") throws -> (epoch: Int, active: String) {
        let status = try status(from: server)
        let deployment = status["deployment"] as? [String: Any] ?? [:]
        return ((deployment["epoch"] as? Int) ?? -1, (deployment["activeServer"] as? String) ?? "")
    }
}

extension DeploymentFixture {
    /// Activates every one of `standbys` at the same moment and checks the outcome the design
    /// promises: exactly one wins, every other one gets "another server became active" (27), the
    /// epoch moved by exactly one, and the log has one `activated` row and a `refused` row per loser.
    func expectExactlyOneWinner(among standbys: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let results = ResultsBox()
        DispatchQueue.concurrentPerform(iterations: standbys.count) { index in
            let result = try? activate(standbys[index])
            results.append(result?.status ?? -1, result?.stderr ?? "")
        }
        let statuses = results.values
        #expect(statuses.filter { $0 == 0 }.count == 1, "\(results.messages)", sourceLocation: sourceLocation)
        #expect(statuses.filter { $0 == 27 }.count == standbys.count - 1, "\(results.messages)", sourceLocation: sourceLocation)
        let state = try deploymentState()
        #expect(state.epoch == 2, sourceLocation: sourceLocation)
        #expect(standbys.contains(state.active), sourceLocation: sourceLocation)
        let log = try history(from: primary)
        #expect(log.filter { ($0["outcome"] as? String) == "activated" }.count == 1, sourceLocation: sourceLocation)
        #expect(log.filter { ($0["outcome"] as? String) == "refused" }.count == standbys.count - 1, sourceLocation: sourceLocation)
    }
}
