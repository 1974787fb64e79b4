import Foundation
import Testing

/// Runs `miisserver check --json` on every server of a deployment, one after another, for as
/// long as a faulty round lasts, and keeps each pass (server, epoch, when it was asked): invariant
/// 1 seen while partitions, kills and failovers happen, not only once they healed. The checker
/// (InvariantChecker) requires every pass to be by the server that held that epoch, and none to
/// have been asked after another server's activation to a later epoch had returned success:
/// once `miisactivate` told an administrator "activated", no other server may pass its check.
/// Bounded: a check ends by the database URL's connect_timeout or the store's watchdog, and
/// ``stop()`` ends the loop after the check in flight.
final class CheckObserver: @unchecked Sendable {
    /// A `miisserver check` that passed.
    struct Pass: Sendable, CustomStringConvertible {
        var server: String
        var epoch: Int
        /// When the check was started (this machine's clock, which every test host shares).
        var askedAt: Date
        var description: String { "(\(server), \(epoch))" }
    }

    /// What the loop and ``stop()`` share.
    private final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var stopped = false
        var passes: [Pass] = []
    }

    private let shared: Shared
    private let loop: BackgroundRun<Void>

    init(_ deployment: PartitionedDeployment) {
        let shared = Shared()
        self.shared = shared
        loop = BackgroundRun {
            for turn in 0..<10_000 {
                if shared.lock.withLock({ shared.stopped }) { return }
                let server = deployment.servers[turn % deployment.servers.count]
                let askedAt = Date()
                guard let result = try? deployment.miisserver(server, ["check", "--json"]), result.status == 0,
                      let report = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                      let epoch = report["epoch"] as? Int else { continue }
                shared.lock.withLock { shared.passes.append(Pass(server: server, epoch: epoch, askedAt: askedAt)) }
            }
        }
    }

    /// Ends the loop (after the check in flight) and returns the passes it saw. Idempotent.
    @discardableResult
    func stop() -> [Pass] {
        shared.lock.withLock { shared.stopped = true }
        _ = try? loop.wait(timeout: 130)
        return shared.lock.withLock { shared.passes }
    }
}
