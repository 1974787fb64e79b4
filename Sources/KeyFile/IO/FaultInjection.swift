#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Named fault points for the crash-safety and error-path tests, armed by the environment
/// variable `MIIS_FAULT_POINT`:
///
/// - `name` or `name@N`: the N-th time (1-based, default 1) the point is reached, the process
///   kills itself with SIGKILL, as a power cut would;
/// - `name:error` or `name@N:error`: the point throws an I/O error (`EIO`, category `io`) instead,
///   so that the caller's error path runs, as a failing disk or a lost connection would make it;
/// - `name:stop` or `name@N:stop`: the process stops itself with SIGSTOP there (all its threads,
///   as a frozen VM or a `kill -STOP` would), so that a test can inject a fault at that exact
///   moment (it waits for the process to show state `T` in /proc/PID/stat) and then resume it
///   with SIGCONT;
/// - `name:pause=S` or `name@N:pause=S`: the thread that reached the point sleeps S seconds (0 to
///   600) and goes on, while the process's other threads run (a slow step, or a thread the
///   scheduler did not run: the database may end an idle session meanwhile);
/// - several of these, comma-separated, arm several points (an error, then a second one on the
///   error path); a malformed value arms nothing.
///
/// Only debug builds (the tests' builds) have fault points: in a release build `point` is an
/// empty inlinable function, `MIIS_FAULT_POINT` is never read, and a call site costs nothing.
/// The list of points is in docs/security.md ("Crash safety").
package enum FaultInjection {
    /// Fires the point `name` if `MIIS_FAULT_POINT` arms it (debug builds only).
    @inlinable
    package static func point(_ name: String) throws {
        #if DEBUG
        try reached(name)
        #endif
    }

    #if DEBUG
    /// What `MIIS_FAULT_POINT` asks for.
    struct Arming: Equatable {
        enum Action: Equatable {
            case kill
            case throwError
            case stop
            case pause(seconds: Double)
        }
        var name: String
        var hit: Int
        var action: Action

        init(name: String, hit: Int, action: Action) {
            self.name = name
            self.hit = hit
            self.action = action
        }

        /// Parses `name[@N][:error|:stop|:pause=S]`; `nil` for an empty value, a bad count or a bad
        /// pause (nothing is armed rather than a misspelt arming firing at the wrong time).
        init?(_ value: String) {
            var rest = Substring(value)
            action = .kill
            if let colon = rest.lastIndex(of: ":"), rest[colon...].hasPrefix(":pause=") {
                guard let seconds = Double(rest[rest.index(colon, offsetBy: ":pause=".count)...]),
                      seconds >= 0, seconds <= 600 else { return nil }
                rest = rest[..<colon]
                action = .pause(seconds: seconds)
            } else if rest.hasSuffix(":error") {
                rest = rest.dropLast(":error".count)
                action = .throwError
            } else if rest.hasSuffix(":stop") {
                rest = rest.dropLast(":stop".count)
                action = .stop
            }
            hit = 1
            if let at = rest.lastIndex(of: "@") {
                guard let count = Int(rest[rest.index(after: at)...]), count >= 1 else { return nil }
                hit = count
                rest = rest[..<at]
            }
            guard !rest.isEmpty else { return nil }
            name = String(rest)
        }
    }

    /// Parses a comma-separated list of armings; `nil` (nothing armed) if any of them is malformed.
    static func parse(_ value: String) -> [Arming]? {
        var armings: [Arming] = []
        for item in value.split(separator: ",", omittingEmptySubsequences: false) {
            guard let arming = Arming(String(item)) else { return nil }
            armings.append(arming)
        }
        return armings
    }

    private static let armed: [Arming] = ProcessInfo.processInfo.environment["MIIS_FAULT_POINT"].flatMap(parse) ?? []
    /// How often each armed point was reached.
    private static let hits = Mutex<[String: Int]>([:])

    @usableFromInline
    static func reached(_ name: String) throws {
        guard armed.contains(where: { $0.name == name }) else { return }
        let hit = hits.withLock { hits in
            hits[name, default: 0] += 1
            return hits[name, default: 0]
        }
        guard let arming = armed.first(where: { $0.name == name && $0.hit == hit }) else { return }
        switch arming.action {
        case .kill: kill(getpid(), SIGKILL)
        case .throwError: throw injectedError(name)
        // Returns once resumed (SIGCONT): the code after the point runs as if nothing happened.
        // Sent to this thread, not the process: a process-directed SIGSTOP goes to a thread the
        // kernel picks (the main one, waiting), and this one would run on into the step after
        // the point before the group stop reached it. Directed here, it stops this thread on
        // its way out of the call, then every other one.
        case .stop: pthread_kill(pthread_self(), SIGSTOP)
        case .pause(let seconds):
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1_000_000_000))
            var remaining = timespec()
            while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
        }
    }

    /// The error an `:error` point throws: what a failing `write` would report.
    static func injectedError(_ name: String) -> KeyFileError {
        SecureFile.ioError("fault point \(name)", EIO, "injected failure")
    }
    #endif
}
