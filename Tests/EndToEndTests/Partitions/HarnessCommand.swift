import Foundation

/// Runs the harness scripts (scripts/pg-node.sh, scripts/netns-cluster.sh) with posix_spawn and
/// waitpid of that one child, output collected in a temporary file. The scripts start daemons
/// (a PostgreSQL postmaster) and namespaces; Foundation's Process once never noticed such a
/// script's exit (a zombie, the test hung), so these waits do not depend on it. Bounded:
/// the child is SIGKILLed at `timeout`.
enum HarnessCommand {
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> ToolRunner.Result {
        let outputPath = NSTemporaryDirectory() + "miis-harness-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]
        env.merge(environment) { $1 }
        let argv = (["/bin/bash"] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, argv, envp)
        guard spawned == 0 else { throw ReplicatedPostgres.PairError.failed("posix_spawn: \(String(cString: strerror(spawned)))") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR { throw ReplicatedPostgres.PairError.failed("waitpid: \(String(cString: strerror(errno)))") }
            if Date() > deadline { kill(pid, SIGKILL) }
            usleep(20_000)
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return ToolRunner.Result(status: exitStatus, stdout: output, stderr: output)
    }
}
