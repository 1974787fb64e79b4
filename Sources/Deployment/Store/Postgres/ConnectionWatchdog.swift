import Foundation
import PostgresNIO
import Synchronization

/// Bounds one exchange with a server that may have stopped answering: TCP would wait for hours on
/// a server that is frozen, cut off or gone with its host, so when `seconds` pass the watchdog
/// closes the connection, which fails the pending query at once. ``cancel()`` when the exchange
/// ended; ``fired`` tells the caller that the error it got is the watchdog's doing.
struct ConnectionWatchdog: Sendable {
    private let firedFlag = FiredFlag()
    private let task: Task<Void, Never>

    init(closing connection: PostgresConnection, after seconds: TimeInterval) {
        let flag = firedFlag
        task = Task {
            do { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) } catch { return }
            flag.set()
            try? await connection.close()
        }
    }

    /// Whether the time ran out and the connection was closed.
    var fired: Bool { firedFlag.value }

    func cancel() { task.cancel() }

    /// Shared by the caller and the watchdog's task.
    private final class FiredFlag: Sendable {
        private let state = Mutex(false)
        var value: Bool { state.withLock { $0 } }
        func set() { state.withLock { $0 = true } }
    }
}
