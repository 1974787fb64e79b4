import Foundation
import Testing

/// Runs `miisserver check --json` on every server of a deployment, one after another, for as
/// long as a faulty round lasts, and records each pass (server, epoch) on the deployment: the
/// "`check` passes on at most one server at any instant observed" of invariant 1, seen while
/// partitions, kills and failovers happen rather than only once they healed. The checker then
/// requires every pass to be by the server that held that epoch (InvariantChecker). Bounded: a
/// check ends by the database URL's connect_timeout or the store's watchdog, and ``stop()`` ends
/// the loop after the check in flight.
final class CheckObserver: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private var passes: [PartitionedDeployment.PassingCheck] = []
    private var loop: BackgroundRun<Void>?

    init(_ deployment: PartitionedDeployment) {
        loop = BackgroundRun { [self] in
            for round in 0..<10_000 {
                let server = deployment.servers[round % deployment.servers.count]
                if isStopped { return }
                guard let result = try? deployment.miisserver(server, ["check", "--json"]), result.status == 0,
                      let report = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                      let epoch = report["epoch"] as? Int else { continue }
                let pass = PartitionedDeployment.PassingCheck(server: server, epoch: epoch)
                deployment.record(pass)
                lock.withLock { passes.append(pass) }
            }
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Ends the loop (after the check in flight) and returns the passes it saw.
    func stop() -> [PartitionedDeployment.PassingCheck] {
        lock.withLock { stopped = true }
        _ = try? loop?.wait(timeout: 130)
        return lock.withLock { passes }
    }
}
