import Dispatch
import Synchronization

/// A total memory budget for password derivations that run at the same time.
///
/// The KDF ceiling bounds one file (scrypt needs at most 1 GiB); it does not bound a run: four
/// crafted in-bounds files on four workers would need 4 GiB at once. Each derivation reserves its
/// memory here first (``KDFParameters/memoryCost``, computed from the header before
/// deriving) and waits while the reservations in force would exceed the budget. Waiters are
/// admitted in arrival order, so a large derivation is not starved by a stream of small ones.
public final class KDFMemoryBudget: Sendable {
    /// The default total: 1 GiB, the per-file ceiling, so any single in-bounds file fits.
    public static let defaultBytes: UInt64 = 1 << 30

    /// The total number of bytes reservations may hold at once.
    public let totalBytes: UInt64

    private struct Waiter {
        let bytes: UInt64
        let wakeUp: DispatchSemaphore
    }

    private struct State {
        var available: UInt64
        var queue: [Waiter] = []
    }

    private let state: Mutex<State>

    public init(totalBytes: UInt64 = KDFMemoryBudget.defaultBytes) {
        self.totalBytes = totalBytes
        state = Mutex(State(available: totalBytes))
    }

    /// Runs `body` while holding a reservation of `bytes`, waiting until they fit in the budget.
    /// A request larger than the whole budget can never fit and is refused (parametersOutOfBounds)
    /// before anything runs.
    public func withReservation<T>(of bytes: UInt64, _ body: () throws -> T) throws -> T {
        guard bytes <= totalBytes else {
            throw KeyFileError(.parametersOutOfBounds, code: "budget",
                "the KDF needs \(bytes >> 20) MiB, more than the whole KDF memory budget of \(totalBytes >> 20) MiB; refused before deriving (raise the budget)")
        }
        reserve(bytes)
        defer { release(bytes) }
        return try body()
    }

    private func reserve(_ bytes: UInt64) {
        let wait: DispatchSemaphore? = state.withLock { state in
            // Only when nobody waits ahead: first come, first served.
            if state.queue.isEmpty, bytes <= state.available {
                state.available -= bytes
                return nil
            }
            let waiter = Waiter(bytes: bytes, wakeUp: DispatchSemaphore(value: 0))
            state.queue.append(waiter)
            return waiter.wakeUp
        }
        // The releaser already subtracted our bytes before signalling.
        wait?.wait()
    }

    private func release(_ bytes: UInt64) {
        let admitted: [DispatchSemaphore] = state.withLock { state in
            state.available += bytes
            var admitted: [DispatchSemaphore] = []
            while let head = state.queue.first, head.bytes <= state.available {
                state.available -= head.bytes
                admitted.append(head.wakeUp)
                state.queue.removeFirst()
            }
            return admitted
        }
        for semaphore in admitted { semaphore.signal() }
    }
}
