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

    /// Extra environment for every tool run (PostgreSQL's `PGPASSWORD`).
    let environment: [String: String]

    /// `standbys` names the standby servers. `release` sets the whole deployment up with an older
    /// release's binaries (``olderRelease(_:)``: the debug build told to be that release), as a
    /// deployment installed before a service pack; `standbyVersion` does the same and then
    /// upgrades the primary to this build (`miisserver upgrade`), leaving the standbys on the
    /// older release: the reference's un-updated standby. `lease` is the deployment's lease set at
    /// the primary's setup (default: the product's 30 s; it needs release 1.2).
    init(standbys: [String] = ["sync2"], database: String? = nil, release: String? = nil, standbyVersion: String? = nil,
         adminGroup: String = "root", lease: Double? = nil, environment: [String: String] = [:]) throws {
        self.environment = environment
        root = try TemporaryDirectory("miis-e2e")
        self.database = database ?? root.file("shared.db")
        passwordFile = root.file("password")
        backup = root.file("miis_keys.bin")
        try (Self.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)

        let setupRelease = release ?? standbyVersion
        try expectSuccess(miisserver(primary, ["setup", "--name", primary, "--database", self.database, "--role", "primary",
                                               "--account", Self.account, "--admin-group", adminGroup,
                                               "--password-file", passwordFile] + Self.weakKDF
                                               + (lease.map { ["--lease", String($0)] } ?? []), release: setupRelease))
        for standby in standbys {
            try expectSuccess(miisserver(standby, ["setup", "--name", standby, "--database", self.database, "--role", "standby",
                                                   "--account", Self.account, "--admin-group", adminGroup], release: setupRelease))
        }
        if standbyVersion != nil { try expectSuccess(miisserver(primary, ["upgrade"])) }
        try expectSuccess(ToolRunner.run("miisserver", ["backup", "--install-dir", installDirectory(primary), "-o", backup,
                                                     "--password-file", passwordFile] + Self.weakKDF,
                                         environment: environment.merging(Self.olderRelease(release)) { $1 }))
    }

    func installDirectory(_ server: String) -> String { root.file(server) }

    /// The environment that makes the (debug) tools behave as the binaries of an older `release`,
    /// such as `1.1.0`: its software version and the schema it needs (`MIIS_TEST_SOFTWARE_VERSION`,
    /// honoured by debug builds only; a release build has no such variable). `nil`: this build.
    static func olderRelease(_ release: String?) -> [String: String] {
        release.map { ["MIIS_TEST_SOFTWARE_VERSION": $0] } ?? [:]
    }

    /// Runs miisserver on `server`; `release` runs it as an older release's binary (``olderRelease(_:)``).
    @discardableResult
    func miisserver(_ server: String, _ arguments: [String], stdin: String? = nil, release: String? = nil) throws -> ToolRunner.Result {
        try ToolRunner.run("miisserver", arguments + ["--install-dir", installDirectory(server)], stdin: stdin,
                           environment: environment.merging(Self.olderRelease(release)) { $1 })
    }

    /// Runs miisactivate on `server` with the backup, quiet, the password via `*` on stdin.
    @discardableResult
    func activate(_ server: String, keyFile: String? = nil, password: String? = nil, extra: [String] = [],
                  release: String? = nil, environment: [String: String] = [:]) throws -> ToolRunner.Result {
        try ToolRunner.run("miisactivate", [keyFile ?? backup, Self.account, "*", "/q", "--allow-weak-kdf",
                                            "--install-dir", installDirectory(server)] + extra,
                           stdin: (password ?? Self.password) + "\n",
                           environment: self.environment.merging(Self.olderRelease(release)) { $1 }.merging(environment) { $1 })
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
        let outcomes = StatusBox()
        DispatchQueue.concurrentPerform(iterations: standbys.count) { index in
            let result = try? activate(standbys[index])
            outcomes.append(result?.status ?? -1, result?.stderr ?? "")
        }
        #expect(outcomes.values.filter { $0 == 0 }.count == 1, "\(outcomes.messages)", sourceLocation: sourceLocation)
        #expect(outcomes.values.filter { $0 == 27 }.count == standbys.count - 1, "\(outcomes.messages)", sourceLocation: sourceLocation)
        let state = try deploymentState()
        #expect(state.epoch == 2, sourceLocation: sourceLocation)
        #expect(standbys.contains(state.active), sourceLocation: sourceLocation)
        let log = try history(from: primary)
        #expect(log.filter { ($0["outcome"] as? String) == "activated" }.count == 1, sourceLocation: sourceLocation)
        #expect(log.filter { ($0["outcome"] as? String) == "refused" }.count == standbys.count - 1, sourceLocation: sourceLocation)
    }
}
