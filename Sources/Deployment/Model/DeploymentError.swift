/// Failures of the deployment layer, each with a stable code and the exit status the tools use.
///
/// Exit statuses 20-39 belong to the deployment (10-17 are the key file's, see `KeyFileError`).
public struct DeploymentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// Not running as root ("Local Administrator privileges are required").
        case notAdministrator
        /// The installation directory is missing, unreadable or invalid.
        case installation
        /// The database cannot be opened, is not ours, or a query failed.
        case database
        /// The server is not registered in the deployment, or the deployment does not exist.
        case notRegistered
        /// Software version and database schema disagree (the reference's 0x80230443).
        case schemaMismatch
        /// Password synchronization points at another server.
        case passwordSyncTarget
        /// The key file is not the deployment's current key set, or its keys fail the database.
        case keySetMismatch
        /// The current primary still sends heartbeats within the lease.
        case primaryAlive
        /// Another server won the compare-and-set (it became active first).
        case conflict
        /// This server's epoch is older than the database's: it must not act as primary.
        case fenced
        /// The request is invalid (second primary, unknown server, bad argument).
        case invalidRequest
        /// Installation files or directories are writable by others, owned by another user, or symbolic links.
        case unsafePermissions
        /// The user declined or quiet mode lacked an answer.
        case cancelled

        public var exitCode: Int32 {
            switch self {
            case .notAdministrator: return 20
            case .installation: return 21
            case .notRegistered: return 22
            case .schemaMismatch: return 23
            case .passwordSyncTarget: return 24
            case .keySetMismatch: return 25
            case .primaryAlive: return 26
            case .conflict: return 27
            case .fenced: return 28
            case .database: return 29
            case .invalidRequest: return 30
            case .unsafePermissions: return 31
            case .cancelled: return 32
            }
        }
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var exitCode: Int32 { kind.exitCode }
    public var description: String { message }
}
