import Foundation
import Synchronization
import Testing
@testable import KeyFile

@Suite("KDFMemoryBudget: concurrent derivations within a total")
struct KDFMemoryBudgetTests {
    /// Reservations in force, observed from inside each body.
    final class Observer: Sendable {
        private let state = Mutex((current: UInt64(0), peak: UInt64(0), concurrent: 0, peakConcurrent: 0))
        func enter(_ bytes: UInt64) {
            state.withLock { s in
                s.current += bytes; s.concurrent += 1
                s.peak = max(s.peak, s.current); s.peakConcurrent = max(s.peakConcurrent, s.concurrent)
            }
        }
        func leave(_ bytes: UInt64) { state.withLock { s in s.current -= bytes; s.concurrent -= 1 } }
        var peak: UInt64 { state.withLock { $0.peak } }
        var peakConcurrent: Int { state.withLock { $0.peakConcurrent } }
    }

    @Test func neverAdmitsMoreThanTheBudget() throws {
        let budget = KDFMemoryBudget(totalBytes: 100)
        let observer = Observer()
        let costs: [UInt64] = (0..<200).map { [10, 30, 45, 60, 100, 1][$0 % 6] }
        DispatchQueue.concurrentPerform(iterations: costs.count) { index in
            let cost = costs[index]
            try? budget.withReservation(of: cost) {
                observer.enter(cost)
                usleep(UInt32(200 + index % 5 * 100))
                observer.leave(cost)
            }
        }
        #expect(observer.peak <= 100)
        #expect(observer.peak > 60, "reservations that fit together do run together")
        #expect(observer.peakConcurrent >= 2)
    }

    @Test func fourCeilingSizedFilesRunOneAtATime() throws {
        // The case: four in-bounds files of 1 GiB each, four workers, a 1 GiB budget.
        let budget = KDFMemoryBudget()
        let observer = Observer()
        let atTheCeiling = KDFParameters.scrypt(logN: 20, r: 8, p: 1)
        #expect(atTheCeiling.memoryCost == KDFParameters.scryptMaximumMemory)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            // The largest in-bounds file fits the default budget: it must not be refused.
            #expect(throws: Never.self) {
                try budget.withReservation(of: atTheCeiling.memoryCost) {
                    observer.enter(1); usleep(20_000); observer.leave(1)
                }
            }
        }
        #expect(observer.peakConcurrent == 1)
    }

    @Test func aRequestLargerThanTheWholeBudgetIsRefusedWithoutRunning() {
        let budget = KDFMemoryBudget(totalBytes: 64 << 20)
        var ran = false
        let error = keyFileError { try budget.withReservation(of: 128 << 20) { ran = true } }
        #expect(error?.code.rawValue == "parametersOutOfBounds.budget")
        #expect(!ran)
        // The budget is intact afterwards.
        #expect(throws: Never.self) { try budget.withReservation(of: 64 << 20) {} }
    }

    @Test func aThrowingBodyReleasesItsReservation() throws {
        struct Failure: Error {}
        let budget = KDFMemoryBudget(totalBytes: 10)
        #expect(throws: Failure.self) { try budget.withReservation(of: 10) { throw Failure() } }
        try budget.withReservation(of: 10) {}
    }

    @Test func verifierOpensWithinTheBudget() throws {
        // Opening through a budget smaller than the file's scrypt memory is refused before deriving.
        let file = try VectorGenerator.build("budget", account: "sync", password: "pw", kdf: .scrypt(logN: 10, r: 8, p: 1))
        let sealed = try SealedKeyFile(bytes: file.bytes)
        let credentials = Credentials(account: try ServiceAccount("sync"), password: try Password("pw"))
        let small = KDFMemoryBudget(totalBytes: 1 << 19)  // the file needs 128·8·2^10 = 1 MiB
        #expect(keyFileError { try sealed.open(with: credentials, policy: .allowWeak, budget: small) }?.code.rawValue == "parametersOutOfBounds.budget")
        #expect(throws: Never.self) { try sealed.open(with: credentials, policy: .allowWeak, budget: KDFMemoryBudget(totalBytes: 1 << 20)) }
    }
}
