import Logging
import Synchronization

/// Logging for the tools: swift-log to standard error, warnings only unless `--verbose`.
/// Log lines never carry secrets; they name steps, files and servers.
package enum Diagnostics {
    private static let bootstrapped = Mutex(false)

    /// Call before the first logger is made; later calls are ignored (swift-log allows one).
    package static func bootstrap(verbose: Bool) {
        guard !bootstrapped.withLock({ done in defer { done = true }; return done }) else { return }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = verbose ? .debug : .warning
            return EscapingLogHandler(inner: handler)
        }
    }
}

/// Escapes the message and metadata of every log line (``TerminalText/escaped(_:)``): they quote
/// file paths and server names, which are untrusted text.
struct EscapingLogHandler: LogHandler {
    var inner: StreamLogHandler

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }
    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }
    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(TerminalText.escaped(event.message.description))"
        event.metadata = event.metadata?.mapValues { .string(TerminalText.escaped($0.description)) }
        inner.log(event: event)
    }
}
