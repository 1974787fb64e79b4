import Foundation

/// How far the database server's wall clock is from this host's, measured as NTP does: the
/// database's `now()` against the midpoint of the local times before and after asking.
///
/// The protocol judges liveness by the database's clock alone (heartbeat ages, the lease, the
/// activation time), so a host whose clock is off changes no decision. A *database node* whose
/// clock is off does, across a database failover: heartbeats written on the old node are aged
/// by the new node's clock. An offset is therefore reported, never acted on: `status` and
/// `miisactivate` warn, so that the clocks get fixed (docs/partitions.md, "Clocks").
public struct ClockOffset: Sendable, Equatable {
    /// Database clock minus this host's clock, in seconds (positive: the database is ahead).
    public let seconds: TimeInterval

    /// Offsets below this are the ordinary drift of hosts kept on NTP, and the round trip's noise.
    public static let warningThreshold: TimeInterval = 5

    public init(seconds: TimeInterval) { self.seconds = seconds }

    /// Asks `store` for its time and compares it with this host's.
    public static func measure(_ store: any DeploymentStore) async throws -> ClockOffset {
        let before = Date()
        let database = try await store.now()
        let after = Date()
        return ClockOffset(seconds: database.timeIntervalSince(before.addingTimeInterval(after.timeIntervalSince(before) / 2)))
    }

    /// A warning when the offset is above ``warningThreshold``.
    public var warning: DeploymentWarning? {
        guard abs(seconds) >= Self.warningThreshold else { return nil }
        return DeploymentWarning(
            "the database server's clock is \(Int(abs(seconds).rounded())) s \(seconds > 0 ? "ahead of" : "behind") this host's: "
            + "heartbeat ages and the lease are measured by the database's clock, and a database failover to a node whose clock differs "
            + "ages every heartbeat by the difference; keep every database node and host on NTP")
    }
}
