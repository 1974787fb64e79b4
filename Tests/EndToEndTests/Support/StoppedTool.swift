import Foundation
import Testing

/// A tool that stopped itself at a `name:stop` fault point (`MIIS_FAULT_POINT`, debug builds):
/// found among the machine's processes by its command line (the tools run under `ip netns exec`,
/// so they are not the test's children), then resumed with SIGCONT once the test injected its fault.
struct StoppedTool {
    let pid: pid_t

    /// Waits, at most `timeout` seconds, for a process whose program is the built `tool` and
    /// whose arguments include every one of `arguments` (an install directory, a subcommand) to
    /// be stopped: every one of its threads in state `T` (/proc/PID/task/TID/stat). Nil, with a
    /// recorded issue, if none stopped in time.
    static func wait(for tool: String, arguments: [String], timeout: TimeInterval = 30,
                     sourceLocation: SourceLocation = #_sourceLocation) -> StoppedTool? {
        let executable = ToolRunner.path(of: tool)
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            for pid in ToolProcesses.find(executable, with: arguments) where allThreadsStopped(pid) {
                return StoppedTool(pid: pid)
            }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        Issue.record("no \(tool) \(arguments.joined(separator: " ")) stopped within \(Int(timeout)) s", sourceLocation: sourceLocation)
        return nil
    }

    /// Lets the tool run on from its fault point.
    func resume() {
        kill(pid, SIGCONT)
    }

    /// Whether the process has threads and all of them are stopped.
    private static func allThreadsStopped(_ pid: pid_t) -> Bool {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return !threads.isEmpty && threads.allSatisfy { state(of: "/proc/\(pid)/task/\($0)/stat") == "T" }
    }

    /// The state letter of a stat file: the field after the command name in parentheses.
    private static func state(of statFile: String) -> Character? {
        guard let data = FileManager.default.contents(atPath: statFile) else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].first { $0 != " " }
    }
}

/// Work run on a background thread (a tool that stops at a fault point, a fault injected while
/// tools run), for a test that must act meanwhile; ``wait(timeout:)`` is bounded.
final class BackgroundRun<Value: Sendable>: @unchecked Sendable {
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var outcome: Result<Value, any Error>?

    init(_ work: @escaping @Sendable () throws -> Value) {
        DispatchQueue.global().async(group: group) {
            let result = Result { try work() }
            self.lock.lock(); self.outcome = result; self.lock.unlock()
        }
    }

    /// The work's result, or nil (with a recorded issue) if it did not end within `timeout` seconds.
    func wait(timeout: TimeInterval, sourceLocation: SourceLocation = #_sourceLocation) throws -> Value? {
        guard group.wait(timeout: .now() + timeout) == .success else {
            Issue.record("the background work did not end within \(Int(timeout)) s", sourceLocation: sourceLocation)
            return nil
        }
        lock.lock(); defer { lock.unlock() }
        return try outcome?.get()
    }
}
