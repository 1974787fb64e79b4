import Foundation

/// Runs one job per index on a bounded pool of worker threads and hands the results back to the
/// caller **in index order**, as soon as each next result is ready.
///
/// This is what lets `keytool verify` check thousands of files on every core while printing its
/// lines in the order of the sorted path list: workers may finish out of order, but results are
/// emitted strictly in sequence. Memory stays flat: at most `window` results are held at once,
/// because a worker does not start index `i` until index `i - window` has been emitted.
public enum OrderedParallelRunner {
    /// The default worker count: the number of active processors.
    public static var defaultJobs: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `work(i)` for every `i` in `0..<count` on up to `jobs` threads, and `emit(i, result)`
    /// on the calling thread in ascending `i`. Returns when every result has been emitted.
    public static func run<Result: Sendable>(
        count: Int, jobs: Int = defaultJobs, window: Int? = nil,
        work: @escaping @Sendable (Int) -> Result,
        emit: (Int, Result) -> Void
    ) {
        guard count > 0 else { return }
        let workers = max(1, min(jobs, count))
        if workers == 1 {
            for index in 0..<count { emit(index, work(index)) }
            return
        }
        let state = SharedState<Result>(window: max(window ?? workers * 64, workers * 2))
        var threads: [Thread] = []
        for _ in 0..<workers {
            let thread = Thread {
                while let index = state.claim(count: count) {
                    state.store(index, work(index))
                }
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
            thread.start()
        }
        for index in 0..<count {
            let result = state.take(index)
            emit(index, result)
        }
    }

    /// The pool's shared state, guarded by one condition variable.
    private final class SharedState<Result>: @unchecked Sendable {
        // @unchecked: every access to the mutable fields happens with `condition` locked.
        private let condition = NSCondition()
        private var nextToClaim = 0
        private var nextToEmit = 0
        private var ready: [Int: Result] = [:]
        private let window: Int

        init(window: Int) { self.window = window }

        /// The next index to work on, or nil when all are claimed. Waits while the window is full.
        func claim(count: Int) -> Int? {
            condition.lock()
            defer { condition.unlock() }
            while nextToClaim < count, nextToClaim >= nextToEmit + window { condition.wait() }
            guard nextToClaim < count else { return nil }
            defer { nextToClaim += 1 }
            return nextToClaim
        }

        func store(_ index: Int, _ result: Result) {
            condition.lock()
            ready[index] = result
            if index == nextToEmit { condition.broadcast() }
            condition.unlock()
        }

        /// Waits for the result of `index` (which must be the next to emit) and removes it.
        func take(_ index: Int) -> Result {
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let result = ready.removeValue(forKey: index) {
                    nextToEmit = index + 1
                    condition.broadcast()
                    return result
                }
                condition.wait()
            }
        }
    }
}
