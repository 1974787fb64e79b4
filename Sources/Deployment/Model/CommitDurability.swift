import Foundation

/// What an acknowledged commit survives: whether the database waits for a standby to have a
/// transaction before it answers COMMIT. With asynchronous replication a database failover
/// loses the last acknowledged transactions, an activation among them; with synchronous
/// replication and no standby to wait for, PostgreSQL holds every commit (docs/postgresql.md,
/// "Replication modes"). `miisserver status` reports it (`database.replication` in `--json`),
/// and `status` and `miisactivate` warn. Advisory: a store that cannot tell reports nothing, and
/// no decision depends on it.
public struct CommitDurability: Codable, Sendable, Equatable {
    public enum Mode: String, Codable, Sendable {
        /// SQLite: one file on this host; there is no database failover to lose a commit to.
        case embedded
        /// PostgreSQL with no standby streaming and nothing to wait for.
        case none
        /// Standbys stream, but the database primary acknowledges commits alone.
        case asynchronous
        /// Every commit waits for a standby (`synchronous_standby_names` set, and
        /// `synchronous_commit` `on`, `remote_write` or `remote_apply`).
        case synchronous
    }

    public let mode: Mode
    /// PostgreSQL's `synchronous_standby_names`, as this session sees it.
    public let synchronousStandbyNames: String?
    /// PostgreSQL's `synchronous_commit`, as this session sees it.
    public let synchronousCommit: String?
    /// Physical standbys connected to the database primary (its WAL senders outside any database,
    /// base backups and `pg_receivewal` left out).
    public let standbys: Int?
    /// Of the WAL senders, those the primary waits for (`sync_state` sync or quorum); nil where
    /// this role may not see it (PostgreSQL shows it to `pg_read_all_stats`).
    public let synchronousStandbys: Int?

    public init(mode: Mode, synchronousStandbyNames: String? = nil, synchronousCommit: String? = nil,
                standbys: Int? = nil, synchronousStandbys: Int? = nil) {
        self.mode = mode
        self.synchronousStandbyNames = synchronousStandbyNames
        self.synchronousCommit = synchronousCommit
        self.standbys = standbys
        self.synchronousStandbys = synchronousStandbys
    }

    /// PostgreSQL's settings read as a mode: synchronous when a standby is named and the commit
    /// level waits for one (`off` and `local` do not), else asynchronous when a standby streams.
    public static func postgres(synchronousStandbyNames: String, synchronousCommit: String, standbys: Int,
                                synchronousStandbys: Int?) -> CommitDurability {
        let waits = !synchronousStandbyNames.trimmingCharacters(in: .whitespaces).isEmpty && !["off", "local"].contains(synchronousCommit)
        return CommitDurability(mode: waits ? .synchronous : standbys > 0 ? .asynchronous : .none,
                                synchronousStandbyNames: synchronousStandbyNames, synchronousCommit: synchronousCommit,
                                standbys: standbys, synchronousStandbys: synchronousStandbys)
    }

    /// A warning when standbys stream asynchronously (a failover can lose what was acknowledged),
    /// or when commits wait for a standby and none that could answer is connected (every write waits).
    public var warning: DeploymentWarning? {
        switch mode {
        case .asynchronous:
            let count = standbys ?? 0
            return DeploymentWarning(
                "database replication is asynchronous (\(count) standby server\(count == 1 ? "" : "s")): if the database primary fails "
                + "before a standby received them, the last acknowledged commits (an activation, a secret) are lost; after any database "
                + "failover, check miisserver status and history (docs/postgresql.md, \"Replication modes\")")
        case .synchronous where (synchronousStandbys ?? standbys) == 0:
            let which = synchronousStandbys == 0 && (standbys ?? 0) > 0 ? "none of the standby servers it names is" : "no standby server is"
            return DeploymentWarning(
                "synchronous replication is configured (synchronous_standby_names = '\(synchronousStandbyNames ?? "")') but \(which) "
                + "streaming: PostgreSQL holds every commit until one is, so writes end after the tools' timeout with \"outcome unknown\" "
                + "and take effect once a standby connects; start the standby, or on the database primary run "
                + "ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf();")
        default:
            return nil
        }
    }
}
