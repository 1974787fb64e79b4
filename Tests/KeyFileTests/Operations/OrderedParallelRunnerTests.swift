import Foundation
import Synchronization
import Testing
@testable import KeyFile

@Suite struct OrderedParallelRunnerTests {
    @Test(arguments: [1, 2, 4, 16])
    func emitsEveryResultInOrder(jobs: Int) {
        var emitted: [Int] = []
        OrderedParallelRunner.run(count: 1_000, jobs: jobs, work: { index in
            if index % 7 == 0 { usleep(50) }  // finish out of order
            return index * 2
        }, emit: { index, value in
            #expect(value == index * 2)
            emitted.append(index)
        })
        #expect(emitted == Array(0..<1_000))
    }

    @Test func zeroItemsEmitsNothing() {
        var calls = 0
        OrderedParallelRunner.run(count: 0, jobs: 4, work: { $0 }, emit: { _, _ in calls += 1 })
        #expect(calls == 0)
    }

    @Test func workStaysWithinTheWindow() {
        let maximumAhead = Mutex(0)
        let emittedSoFar = Mutex(0)
        OrderedParallelRunner.run(count: 500, jobs: 4, window: 8, work: { index in
            let ahead = index - emittedSoFar.withLock { $0 }
            maximumAhead.withLock { $0 = max($0, ahead) }
            return index
        }, emit: { index, _ in
            emittedSoFar.withLock { $0 = index + 1 }
        })
        #expect(maximumAhead.withLock { $0 } <= 8)
    }

    @Test(arguments: [1, 7, 32, 1_000])
    func batchesKeepOrderAndWindow(batch: Int) {
        let maximumAhead = Mutex(0)
        let emittedSoFar = Mutex(0)
        var emitted: [Int] = []
        OrderedParallelRunner.run(count: 2_000, jobs: 3, window: 64, batch: batch, work: { index in
            let ahead = index - emittedSoFar.withLock { $0 }
            maximumAhead.withLock { $0 = max($0, ahead) }
            if index % 13 == 0 { usleep(20) }
            return index * 3
        }, emit: { index, value in
            #expect(value == index * 3)
            emitted.append(index)
            emittedSoFar.withLock { $0 = index + 1 }
        })
        #expect(emitted == Array(0..<2_000))
        #expect(maximumAhead.withLock { $0 } < 64)
    }
}
