import Logging

/// Logging for the tools: swift-log to standard error, warnings only unless `--verbose`.
/// Log lines never carry secrets; they name steps, files and servers.
public enum Diagnostics {
    /// Call once, before the first logger is made.
    public static func bootstrap(verbose: Bool) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return handler
        }
    }
}
