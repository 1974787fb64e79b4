import Foundation

/// What an acknowledged commit survives: whether the database waits for a standby to have a
/// transaction before it answers COMMIT. With asynchronous replication a database failover
/// loses the last acknowledged transactions, an activation among them; with synchronous
/// replication and no standby connected every write waits (docs/postgresql.md, "Replication
/// modes"). `miisserver status` reports it (`database.replication` in `--json`) and both
/// `status` and `miisactivate` warn, as `patronictl list` shows its synchronous standby.
public struct CommitDurability: Codable, Sendable, Equatable {
    public enum Replication: String, Codable, Sendable {
        /// SQLite: one file on this host; there is no database failover to lose a commit to.
        case embedded
        /// Every commit waits for a standby (`synchronous_standby_names` set, and
        /// `synchronous_commit` `on`, `remote_write` or `remote_apply`).
        case synchronous
        /// The database primary acknowledges commits alone.
        case asynchronous
    }

    public var replication: Replication
    /// PostgreSQL's `synchronous_standby_names`, as this session sees it.
    public var synchronousStandbyNames: String?
    /// PostgreSQL's `synchronous_commit`, as this session sees it.
    public var synchronousCommit: String?
    /// Standbys streaming from the database primary now (rows of `pg_stat_replication`, which
    /// every role may count).
    public var streamingStandbys: Int?

    public init(replication: Replication, synchronousStandbyNames: String? = nil, synchronousCommit: String? = nil,
                streamingStandbys: Int? = nil) {
        self.replication = replication
        self.synchronousStandbyNames = synchronousStandbyNames
        self.synchronousCommit = synchronousCommit
        self.streamingStandbys = streamingStandbys
    }

    /// PostgreSQL's settings read as a mode: synchronous when a standby is named and the commit
    /// level waits for one (`off` and `local` do not).
    public static func postgres(synchronousStandbyNames: String, synchronousCommit: String, streamingStandbys: Int) -> CommitDurability {
        let waits = !synchronousStandbyNames.trimmingCharacters(in: .whitespaces).isEmpty && !["off", "local"].contains(synchronousCommit)
        return CommitDurability(replication: waits ? .synchronous : .asynchronous, synchronousStandbyNames: synchronousStandbyNames,
                                synchronousCommit: synchronousCommit, streamingStandbys: streamingStandbys)
    }

    /// A warning when a standby streams asynchronously (a failover can lose what was
    /// acknowledged), or when commits wait for a standby and none streams (every write waits).
    public var warning: DeploymentWarning? {
        guard let streaming = streamingStandbys else { return nil }
        switch replication {
        case .asynchronous where streaming > 0:
            return DeploymentWarning(
                "the database replicates asynchronously to \(streaming) standby server\(streaming == 1 ? "" : "s"): a commit "
                + "acknowledged now, an activation's included, is lost if the database primary fails before a standby received it; "
                + "set synchronous_standby_names on the database servers (docs/postgresql.md, \"Replication modes\")")
        case .synchronous where streaming == 0:
            return DeploymentWarning(
                "synchronous replication is configured (synchronous_standby_names = '\(synchronousStandbyNames ?? "")') but no "
                + "standby server is streaming: every write (heartbeat, activation, secret) waits until one connects, and fails "
                + "on its timeout meanwhile")
        default:
            return nil
        }
    }
}
