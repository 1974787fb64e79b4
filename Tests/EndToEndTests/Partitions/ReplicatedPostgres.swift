import Foundation
import Testing

/// Two real PostgreSQL servers on loopback, a primary and its streaming-replication hot standby
/// (pg_basebackup -R), started and stopped through scripts/pg-node.sh: the database of a
/// deployment that can fail over. Removed (processes stopped, directories deleted) when released,
/// also after a failed expectation.
final class ReplicatedPostgres: @unchecked Sendable {
    /// One server of the pair.
    enum Node: String { case first = "node1", second = "node2" }

    let root: TemporaryDirectory
    let password: String
    let ports: [Node: Int]
    /// Where each node listens: 127.0.0.1, or its host's address in a ``NetnsCluster``.
    let addresses: [Node: String]
    /// The command that runs a node's process on its host (`ip netns exec …`), empty on loopback.
    private let launcher: [Node: [String]]
    /// What a node's server runs with besides the password (a ``FakeClock`` offset).
    private let nodeEnvironment: [Node: [String: String]]
    /// Which node is the primary now (changes with ``promote(_:)``).
    private(set) var primary: Node = .first

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let script = repository.appendingPathComponent("scripts/pg-node.sh").path

    /// The environment every tool run needs (the `miis` role's password).
    var environment: [String: String] { ["PGPASSWORD": password] }

    /// The pair, or nil (with a note, or a recorded issue in CI) where PostgreSQL's server binaries
    /// are missing.
    static func start(synchronous: Bool = false, addresses: [Node: String] = [.first: "127.0.0.1", .second: "127.0.0.1"],
                      launcher: [Node: [String]] = [:], nodeEnvironment: [Node: [String: String]] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> ReplicatedPostgres? {
        let serverBinaries = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard serverBinaries.contains(where: { FileManager.default.fileExists(atPath: "/usr/lib/postgresql/\($0)/bin/initdb") }) else {
            if !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty {
                Issue.record("PostgreSQL server binaries are missing in CI (scripts/install-deps.sh installs them)", sourceLocation: sourceLocation)
            } else {
                print("SKIPPED: replicated PostgreSQL tests need the postgresql package")
            }
            return nil
        }
        return try ReplicatedPostgres(synchronous: synchronous, addresses: addresses, launcher: launcher, nodeEnvironment: nodeEnvironment,
                                      sourceLocation: sourceLocation)
    }

    private init(synchronous: Bool, addresses: [Node: String], launcher: [Node: [String]], nodeEnvironment: [Node: [String: String]],
                 sourceLocation: SourceLocation) throws {
        Self.sweepAbandonedPairs()
        root = try TemporaryDirectory(Self.directoryPrefix)
        chmod(root.path, 0o755)
        try String(getpid()).write(toFile: root.file(Self.ownerFile), atomically: true, encoding: .utf8)
        password = UUID().uuidString.replacingOccurrences(of: "-", with: "")
        self.addresses = addresses
        self.launcher = launcher
        self.nodeEnvironment = nodeEnvironment
        let base = Self.freePortPair()
        ports = [.first: base, .second: base + 1]
        let first = addresses[.first] ?? "127.0.0.1"
        try run(.first, ["primary", directory(.first), first, String(base)], sourceLocation: sourceLocation)
        try run(.second, ["standby", directory(.second), addresses[.second] ?? "127.0.0.1", String(base + 1), first, String(base)],
                sourceLocation: sourceLocation)
        if synchronous { try run(.first, ["sync", directory(.first), "on"], sourceLocation: sourceLocation) }
    }

    deinit { Self.removeNodes(of: root.path) }

    /// Stops the two nodes of the pair in `pair` and deletes their directories (`pg-node.sh remove`).
    private static func removeNodes(of pair: String) {
        for node in [Node.first, .second] {
            _ = try? HarnessCommand.run([script, "remove", pair + "/" + node.rawValue], timeout: 60)
        }
    }

    private static let directoryPrefix = "miis-pg-pair"
    /// The pid of the test process a pair belongs to, in the pair's directory.
    private static let ownerFile = "owner.pid"

    /// Stops and removes the pairs of test processes that are gone: a lane killed mid-test (a
    /// timeout, an interrupt) never ran their deinit, and their servers, detached by pg_ctl, would
    /// run on. Pairs of live processes, and ones without an owner file, are left alone.
    private static func sweepAbandonedPairs() {
        let temporary = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix(directoryPrefix + "-") {
            let pair = temporary.appendingPathComponent(name).path
            guard let text = try? String(contentsOfFile: pair + "/" + ownerFile, encoding: .utf8),
                  let owner = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  Glibc.kill(owner, 0) != 0, errno == ESRCH else { continue }
            removeNodes(of: pair)
            try? FileManager.default.removeItem(atPath: pair)
        }
    }

    /// Two consecutive free loopback ports (other PostgreSQL clusters of the machine's test runs
    /// pick random ports too); in a namespace every port is free anyway.
    static func freePortPair() -> Int {
        func free(_ port: Int) -> Bool {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard socket >= 0 else { return false }
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
        for _ in 0..<50 {
            let base = 41000 + Int.random(in: 0..<9000) * 2
            if free(base), free(base + 1) { return base }
        }
        return 41000 + Int.random(in: 0..<9000) * 2
    }

    /// The other node of the pair.
    static func other(_ node: Node) -> Node { node == .first ? .second : .first }

    func directory(_ node: Node) -> String { root.file(node.rawValue) }

    /// `postgres://miis@127.0.0.1:P2,127.0.0.1:P1/miis?...`: the standby listed first, so that
    /// only `target_session_attrs` brings the tools to the primary.
    func url(standbyFirst: Bool = true, targetSessionAttributes: String? = "read-write", connectTimeout: Int? = nil) -> String {
        let standby = Self.other(primary)
        let order = standbyFirst ? [standby, primary] : [primary, standby]
        let hosts = order.map { "\(addresses[$0] ?? "127.0.0.1"):\(ports[$0] ?? 0)" }.joined(separator: ",")
        var parameters: [String] = targetSessionAttributes.map { ["target_session_attrs=\($0)"] } ?? []
        if let connectTimeout { parameters.append("connect_timeout=\(connectTimeout)") }
        return "postgres://miis@\(hosts)/miis" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
    }

    /// SIGKILL of a node's postmaster and its children: a crashed database server.
    func kill(_ node: Node) throws { try run(node, ["kill", directory(node)]) }
    /// `synchronous_standby_names` on the primary: `'*'` (every commit waits for the standby) or empty.
    func setSynchronous(_ synchronous: Bool) throws { try run(primary, ["sync", directory(primary), synchronous ? "on" : "off"]) }
    /// SIGSTOP of a node's postmaster and its children (a paused VM), until ``thaw(_:)``.
    func freeze(_ node: Node) throws { try run(node, ["freeze", directory(node)]) }
    func thaw(_ node: Node) throws { try run(node, ["thaw", directory(node)]) }
    /// A clean, fast shutdown.
    func stop(_ node: Node) throws { try run(node, ["stop", directory(node)]) }
    func startAgain(_ node: Node) throws { try run(node, ["start", directory(node)]) }
    /// `pg_ctl promote`: the standby becomes the primary.
    func promote(_ node: Node) throws {
        try run(node, ["promote", directory(node)])
        primary = node
    }

    /// A lost node rebuilt as the standby of the current primary (pg_basebackup again), so that
    /// the pair can fail over once more.
    func rebuildAsStandby(_ node: Node, synchronous: Bool) throws {
        try run(node, ["remove", directory(node)])
        try run(node, ["standby", directory(node), addresses[node] ?? "127.0.0.1", String(ports[node] ?? 0),
                       addresses[primary] ?? "127.0.0.1", String(ports[primary] ?? 0)])
        if synchronous { try run(primary, ["sync", directory(primary), "on"]) }
    }

    /// Runs SQL as the superuser on `node`, returning its unaligned output.
    func sql(_ node: Node, _ statement: String) throws -> String {
        // Through the node's unix socket: reachable from here whatever network namespace the node is in.
        let result = try ToolRunner.run("/usr/bin/psql", ["-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", directory(node), "-p", String(ports[node] ?? 0),
                                                      "-U", "postgres", "-d", "miis", "-c", statement], environment: environment)
        guard result.status == 0 else { throw PairError.failed("psql: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `statement` on `node` every 0.1 s, for at most 10 s, until it returns `expected`;
    /// whether it did (a standby catching up, a WAL sender starting).
    func poll(_ node: Node, _ statement: String, until expected: String) -> Bool {
        for _ in 0..<100 {
            if (try? sql(node, statement)) == expected { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return false
    }

    private func run(_ node: Node, _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        // The launcher is `/bin/bash netns-cluster.sh exec RUN HOST` or nothing: bash runs either way.
        let command = (launcher[node].map { Array($0.dropFirst()) + ["/bin/bash"] } ?? []) + [Self.script] + arguments
        let result = try HarnessCommand.run(command, environment: environment.merging(nodeEnvironment[node] ?? [:]) { $1 }, timeout: 120)
        guard result.status == 0 else {
            Issue.record("pg-node.sh \(arguments.first ?? ""): \(result.stderr)", sourceLocation: sourceLocation)
            throw PairError.failed(result.stderr)
        }
    }

    enum PairError: Error { case failed(String) }
}
