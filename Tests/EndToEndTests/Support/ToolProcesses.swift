import Foundation

/// The machine's processes running a built tool, found by their command line: the partition
/// tests run the tools under `ip netns exec`, so they are not the test's children and their pids
/// are not known to it.
enum ToolProcesses {
    /// The processes whose argv[0] is `executable` (not the shell or `ip` that launched them,
    /// whose command lines hold the same words) and whose arguments include every one of `arguments`.
    static func find(_ executable: String, with arguments: [String]) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let argv = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard argv.first == executable, arguments.allSatisfy(argv.dropFirst().contains) else { return nil }
            return pid
        }
    }

    /// Waits at most `timeout` seconds for such a process to exist; nil if none did (it had
    /// not started yet, or had already ended).
    static func first(_ executable: String, with arguments: [String], within timeout: TimeInterval) -> pid_t? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let pid = find(executable, with: arguments).first { return pid }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline
        return nil
    }
}
