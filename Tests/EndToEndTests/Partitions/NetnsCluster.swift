import Foundation
import Testing

/// Hosts in network namespaces (scripts/netns-cluster.sh): one per sync server and per database
/// node, on a bridge in a namespace of its own, addresses 10.231.0.0/24 only inside them. Faults are
/// injected per host; the cluster is torn down when released, and a sweep at start removes the
/// clusters of earlier runs that were killed.
final class NetnsCluster: @unchecked Sendable {
    static let script = ReplicatedPostgres.repository.appendingPathComponent("scripts/netns-cluster.sh").path
    private static let counter = Counter()

    /// The run's name: this test process's id and a sequence number (what the sweep looks at).
    let runID: String
    let hosts: [String]

    /// A cluster of `hosts`, or nil (with a note, or a recorded issue in CI) where namespaces
    /// cannot be made: not root, or iproute2/nftables missing.
    static func start(hosts: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> NetnsCluster? {
        let missing = ["/usr/sbin/ip", "/usr/sbin/nft"].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        guard geteuid() == 0, missing.isEmpty else {
            let why = geteuid() != 0 ? "not running as root" : "missing \(missing.joined(separator: ", ")) (scripts/install-deps.sh installs iproute2 and nftables)"
            if !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty {
                Issue.record("network-namespace tests cannot run in CI: \(why)", sourceLocation: sourceLocation)
            } else {
                print("SKIPPED: network-namespace tests: \(why)")
            }
            return nil
        }
        return try NetnsCluster(hosts: hosts, sourceLocation: sourceLocation)
    }

    private init(hosts: [String], sourceLocation: SourceLocation) throws {
        runID = "\(getpid())-\(Self.counter.next())"
        self.hosts = hosts
        _ = try HarnessCommand.run([Self.script, "sweep"], timeout: 60)
        try script(["up", runID] + hosts, sourceLocation: sourceLocation)
    }

    deinit {
        _ = try? HarnessCommand.run([Self.script, "down", runID], timeout: 60)
    }

    /// The host's address: 10.231.0.(10 + its index).
    func address(_ host: String) -> String { "10.231.0.\(10 + (hosts.firstIndex(of: host) ?? 0))" }

    /// The command prefix that runs a program on `host`.
    func launcher(_ host: String) -> [String] { ["/bin/bash", Self.script, "exec", runID, host] }

    /// Runs a built tool (or an absolute path) on `host`.
    func run(_ tool: String, on host: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
             timeout: TimeInterval = 120) throws -> ToolRunner.Result {
        let executable = tool.hasPrefix("/") ? tool : ToolRunner.path(of: tool)
        return try ToolRunner.run("/bin/bash", [Self.script, "exec", runID, host, executable] + arguments, stdin: stdin,
                                  environment: environment, timeout: timeout)
    }

    /// `netns-cluster.sh FAULT RUN HOST ARGS…`: `drop PEER in|out|both`, `loss PERCENT`,
    /// `delay MS`, `link up|down`, `heal`.
    func fault(_ fault: String, _ host: String, _ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try HarnessCommand.run([Self.script, fault, runID, host] + arguments, timeout: 60)
        guard result.status == 0 else {
            Issue.record("netns-cluster.sh \(fault) \(host): \(result.stderr)", sourceLocation: sourceLocation)
            throw ReplicatedPostgres.PairError.failed(result.stderr)
        }
    }

    /// Cuts `host` off from every host in `peers`, both directions.
    func partition(_ host: String, from peers: [String]) throws {
        for peer in peers { try fault("drop", host, [peer, "both"]) }
    }

    private func script(_ arguments: [String], sourceLocation: SourceLocation) throws {
        let result = try HarnessCommand.run([Self.script] + arguments, timeout: 60)
        guard result.status == 0 else {
            Issue.record("netns-cluster.sh \(arguments.first ?? ""): \(result.stderr)", sourceLocation: sourceLocation)
            throw ReplicatedPostgres.PairError.failed(result.stderr)
        }
    }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
    }
}

/// A deployment whose sync servers and database nodes are hosts of a ``NetnsCluster``: the
/// database a replicated pair (``ReplicatedPostgres``) on db1/db2, every tool run on its server's host.
final class PartitionedDeployment: @unchecked Sendable {
    let cluster: NetnsCluster
    let database: ReplicatedPostgres
    let servers: [String]
    let root: TemporaryDirectory
    let url: String
    let passwordFile: String
    let backup: String
    /// A `miisactivate` that exited 0: the server, the epoch it reported and when it returned.
    struct Acknowledgement: Sendable, CustomStringConvertible {
        var server: String
        var epoch: Int
        var at: Date
        var description: String { "(\(server), \(epoch))" }
    }
    /// Every miisactivate that exited 0, for invariants 1 and 4.
    var acknowledged: [Acknowledgement] { lock.withLock { acknowledgements } }
    private var acknowledgements: [Acknowledgement] = []
    private let lock = NSLock()
    /// How many faults were injected (partitions, losses, kills, promotions), for the reports.
    var faults = 0
    /// Per server, the environment that offsets its tools' clock (``FakeClock``); none: the true time.
    var clocks: [String: [String: String]] = [:]

    static let databaseHosts = ["db1", "db2"]

    /// `servers`: the first is the primary, the others standbys. `lease`: the deployment's lease.
    /// `databaseClocks`: per database node, the environment that offsets its server's clock (``FakeClock``).
    static func start(servers: [String], lease: Double, synchronous: Bool = true,
                      databaseClocks: [ReplicatedPostgres.Node: [String: String]] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> PartitionedDeployment? {
        guard let cluster = try NetnsCluster.start(hosts: servers + databaseHosts, sourceLocation: sourceLocation) else { return nil }
        guard let database = try ReplicatedPostgres.start(
            synchronous: synchronous, addresses: [.first: cluster.address("db1"), .second: cluster.address("db2")],
            launcher: [.first: cluster.launcher("db1"), .second: cluster.launcher("db2")], nodeEnvironment: databaseClocks,
            sourceLocation: sourceLocation) else { return nil }
        return try PartitionedDeployment(cluster: cluster, database: database, servers: servers, lease: lease)
    }

    private init(cluster: NetnsCluster, database: ReplicatedPostgres, servers: [String], lease: Double) throws {
        self.cluster = cluster
        self.database = database
        self.servers = servers
        root = try TemporaryDirectory("miis-partitions")
        url = database.url(connectTimeout: 2)
        passwordFile = root.file("password")
        backup = root.file("miis_keys.bin")
        try (DeploymentFixture.password + "\n").write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        for (index, server) in servers.enumerated() {
            var arguments = ["setup", "--name", server, "--database", url, "--role", index == 0 ? "primary" : "standby",
                             "--account", DeploymentFixture.account, "--admin-group", "root"]
            if index == 0 { arguments += ["--password-file", passwordFile, "--lease", String(lease)] + DeploymentFixture.weakKDF }
            try expectSuccess(miisserver(server, arguments))
        }
        try expectSuccess(miisserver(servers[0], ["backup", "-o", backup, "--password-file", passwordFile] + DeploymentFixture.weakKDF))
    }

    func installDirectory(_ server: String) -> String { root.file(server) }

    /// `miisserver ARGS --install-dir` on the server's own host (`environment` added to the database's).
    @discardableResult
    func miisserver(_ server: String, _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) throws -> ToolRunner.Result {
        try cluster.run("miisserver", on: server, arguments + ["--install-dir", installDirectory(server)], stdin: stdin,
                        environment: database.environment.merging(clocks[server] ?? [:]) { $1 }.merging(environment) { $1 })
    }

    /// miisactivate on the server's host with the backup, quiet; a success is recorded for invariant 4.
    @discardableResult
    func activate(_ server: String, environment: [String: String] = [:]) throws -> ToolRunner.Result {
        let result = try cluster.run("miisactivate", on: server,
                                     [backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf", "--json",
                                      "--install-dir", installDirectory(server)],
                                     stdin: DeploymentFixture.password + "\n",
                                     environment: database.environment.merging(clocks[server] ?? [:]) { $1 }.merging(environment) { $1 })
        if result.status == 0,
           let report = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] {
            let epoch = (report["epoch"] as? Int) ?? ((report["deployment"] as? [String: Any])?["epoch"] as? Int) ?? -1
            let acknowledgement = Acknowledgement(server: server, epoch: epoch, at: Date())
            lock.withLock { acknowledgements.append(acknowledgement) }
        }
        return result
    }

    private func expectSuccess(_ result: ToolRunner.Result, sourceLocation: SourceLocation = #_sourceLocation) throws {
        guard result.status == 0 else {
            Issue.record("command failed (\(result.status)): \(result.stderr)", sourceLocation: sourceLocation)
            throw ReplicatedPostgres.PairError.failed(result.stderr)
        }
    }
}
