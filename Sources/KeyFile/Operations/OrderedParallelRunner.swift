#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Runs one job per index on a bounded pool of worker threads and hands the results back to the
/// caller **in index order**, as soon as each next result is ready.
///
/// This is what lets `keytool verify` check thousands of files on every core while printing its
/// lines in the order of the sorted path list: workers may finish out of order, but results are
/// emitted strictly in sequence. Memory stays flat: at most `window` results are held at once,
/// because a worker does not start index `i` until index `i - window` has been emitted.
///
/// Work is handed out and back in batches of consecutive indices: one lock round trip (and at
/// most one wake-up) per batch instead of per index. For cheap, uniform jobs (an integrity check
/// of a small file) that is what keeps the threads off the futex; for slow jobs (a key
/// derivation) a batch of 1 keeps every core busy until the last item.
package enum OrderedParallelRunner {
    /// The default worker count: the number of active processors.
    package static var defaultJobs: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `work(i)` for every `i` in `0..<count` on up to `jobs` threads, and `emit(i, result)`
    /// on the calling thread in ascending `i`. Returns when every result has been emitted and
    /// every worker has ended. `batch` is the most indices a worker takes at once (the run
    /// lowers it so that every worker still gets several batches).
    package static func run<Result: Sendable>(
        count: Int, jobs: Int = defaultJobs, window: Int? = nil, batch: Int = 1,
        work: @escaping @Sendable (Int) -> Result,
        emit: (Int, Result) -> Void
    ) {
        guard count > 0 else { return }
        let workers = max(1, min(jobs, count))
        if workers == 1 {
            for index in 0..<count { emit(index, work(index)) }
            return
        }
        let window = max(window ?? workers * 64, workers * 2)
        let batchSize = max(1, min(batch, window / workers, count / (workers * 4)))
        let state = SharedState<Result>(count: count, batchSize: batchSize, window: window)
        var threads: [pthread_t] = []
        for _ in 0..<workers {
            guard let thread = spawn({
                while let range = state.claim() {
                    state.store(range.lowerBound / batchSize, range.map(work))
                }
            }) else { break }
            threads.append(thread)
        }
        if threads.isEmpty {
            // No thread could be created (resource limits): the same results, on this thread.
            for index in 0..<count { emit(index, work(index)) }
            return
        }
        var index = 0
        for batchNumber in 0..<state.batchCount {
            for result in state.take(batchNumber) {
                emit(index, result)
                index += 1
            }
            state.emitted(through: index)
        }
        for thread in threads { pthread_join(thread, nil) }
    }

    /// Starts a thread with a 1 MiB stack running `body`; nil when the system refuses.
    private static func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        final class Start { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let start = Unmanaged.passRetained(Start(body))
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { argument in
            guard let argument else { return nil }
            Unmanaged<Start>.fromOpaque(argument).takeRetainedValue().body()
            return nil
        }, start.toOpaque())
        guard status == 0 else {
            start.release()
            return nil
        }
        return thread
    }

    /// The pool's shared state, guarded by one mutex and one condition variable.
    private final class SharedState<Result>: @unchecked Sendable {
        // @unchecked: every access to the mutable fields happens with `mutex` locked.
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        private let count: Int
        private let batchSize: Int
        private let window: Int
        let batchCount: Int
        private var nextToClaim = 0
        /// Every index below this one has been emitted.
        private var emittedIndex = 0
        private var ready: [Int: [Result]] = [:]
        /// Threads blocked in ``claim()`` or ``take(_:)``: signal only when someone waits.
        private var waiting = 0

        init(count: Int, batchSize: Int, window: Int) {
            self.count = count
            self.batchSize = batchSize
            self.window = window
            self.batchCount = (count + batchSize - 1) / batchSize
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            pthread_mutex_destroy(mutex)
            condition.deallocate()
            mutex.deallocate()
        }

        private func wait() {
            waiting += 1
            pthread_cond_wait(condition, mutex)
            waiting -= 1
        }

        private func wakeAll() {
            if waiting > 0 { pthread_cond_broadcast(condition) }
        }

        /// The next batch of indices to work on, or nil when all are claimed. Waits while the
        /// batch would reach `window` or more indices past the last one emitted.
        func claim() -> Range<Int>? {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while nextToClaim < count, min(nextToClaim + batchSize, count) > emittedIndex + window { wait() }
            guard nextToClaim < count else { return nil }
            let range = nextToClaim..<min(nextToClaim + batchSize, count)
            nextToClaim = range.upperBound
            return range
        }

        func store(_ batchNumber: Int, _ results: [Result]) {
            pthread_mutex_lock(mutex)
            ready[batchNumber] = results
            if batchNumber * batchSize == emittedIndex { wakeAll() }
            pthread_mutex_unlock(mutex)
        }

        /// Waits for the results of `batchNumber` (the next to emit) and removes them.
        func take(_ batchNumber: Int) -> [Result] {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            while true {
                if let results = ready.removeValue(forKey: batchNumber) { return results }
                wait()
            }
        }

        /// Records that every index below `index` has been emitted, freeing window space.
        func emitted(through index: Int) {
            pthread_mutex_lock(mutex)
            emittedIndex = index
            wakeAll()
            pthread_mutex_unlock(mutex)
        }
    }
}
