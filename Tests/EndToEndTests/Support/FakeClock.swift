import Foundation
import Testing

/// A process clock moved by an offset, with libfaketime (Debian's `faketime` package, which
/// scripts/install-deps.sh installs): preloaded into a tool or a database server, it shifts what
/// the wall clock (`CLOCK_REALTIME`, `gettimeofday`, `time`) says, as a host whose clock is off
/// would. Monotonic clocks are left alone (`FAKETIME_DONT_FAKE_MONOTONIC`), as they are on such a
/// host: only the wall clock is wrong.
enum FakeClock {
    /// The preloadable library, wherever the architecture's library folder is.
    static let library: String? = {
        let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []).sorted()
            .map { "/usr/lib/\($0)/faketime/libfaketime.so.1" }
        return candidates.first { FileManager.default.fileExists(atPath: $0) }
    }()

    /// The environment that runs a process with its wall clock `seconds` ahead (negative: behind);
    /// nil, with a note (a recorded issue in CI), without libfaketime.
    static func environment(offset seconds: Int, sourceLocation: SourceLocation = #_sourceLocation) -> [String: String]? {
        guard let library else {
            if !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty {
                Issue.record("libfaketime is missing in CI (scripts/install-deps.sh installs faketime)", sourceLocation: sourceLocation)
            } else {
                print("SKIPPED: clock-offset tests need the faketime package")
            }
            return nil
        }
        return ["LD_PRELOAD": library, "FAKETIME": seconds < 0 ? "\(seconds)" : "+\(seconds)", "FAKETIME_DONT_FAKE_MONOTONIC": "1"]
    }
}
