import ErrorReporting

/// Failures of the deployment layer, each with a stable kind (its ``ReportableError/errorClass``:
/// the tools map it to exit statuses 20-39) and, where there is one, the ``Remedy``.
public struct DeploymentError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, CaseIterable {
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
    }

    public let kind: Kind
    public let message: String
    /// What the administrator does next, named by intent; the tools say it in their syntax.
    public let remedy: Remedy?

    public init(_ kind: Kind, _ message: String, remedy: Remedy? = nil) {
        self.kind = kind
        self.message = message
        self.remedy = remedy
    }

    public var description: String { message }

    /// The same failure with `remedy` as what to do next.
    public func with(_ remedy: Remedy) -> DeploymentError {
        DeploymentError(kind, message, remedy: remedy)
    }
}

extension DeploymentError: ReportableError {
    public var errorClass: String { kind.rawValue }
    public var errorCode: String { kind.rawValue }
}

/// A failure of another layer (a key-file write, the database) that the deployment explains
/// further: its class, and so its exit status, stay the underlying error's; the message says what
/// the deployment kept, and ``remedy`` what to do next.
public struct ExplainedFailure: ReportableError, CustomStringConvertible {
    public let underlying: any ReportableError
    public let message: String
    public let remedy: Remedy?

    /// `underlying`'s failure with `explanation` appended to its message.
    public init(_ underlying: any ReportableError, explanation: String, remedy: Remedy?) {
        self.underlying = underlying
        self.message = "\(underlying.message); \(explanation)"
        self.remedy = remedy
    }

    public var errorClass: String { underlying.errorClass }
    public var errorCode: String { underlying.errorCode }
    public var description: String { message }
}

extension ReportableError {
    /// The deployment's remedy for this failure, if it names one.
    public var deploymentRemedy: Remedy? {
        switch self {
        case let error as DeploymentError: return error.remedy
        case let error as ExplainedFailure: return error.remedy
        default: return nil
        }
    }
}
