import Logging
import Synchronization

/// Logging for the tools: swift-log to standard error, warnings only unless `--verbose`.
/// Log lines never carry secrets; they name steps, files and servers.
public enum Diagnostics {
    private static let bootstrapped = Mutex(false)

    /// Call before the first logger is made; later calls are ignored (swift-log allows one).
    public static func bootstrap(verbose: Bool) {
        guard !bootstrapped.withLock({ done in defer { done = true }; return done }) else { return }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
    }
}
