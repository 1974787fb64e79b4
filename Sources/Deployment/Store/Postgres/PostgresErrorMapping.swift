import Foundation
import PostgresNIO

/// Turns PostgresNIO, NIO and TLS errors into one-line `.database` errors that name the server
/// (redacted: no password) and say what went wrong. Our own `DeploymentError`s pass through.
enum PostgresErrorMapping {
    /// An error while connecting and authenticating.
    static func connectError(_ error: any Error, location: PostgresLocation, timeouts: PostgresDeploymentStore.Timeouts,
                             passwordSource: String?,
                             passwordWarnings: [String]) -> DeploymentError {
        if let error = error as? DeploymentError { return error }
        let target = "\(location.serverDescription)/\(location.database)"
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                return serverError(error, location: location, timeouts: timeouts, passwordSource: passwordSource)
            case .authMechanismRequiresPassword:
                var message = "PostgreSQL at \(target) requires a password for user \(location.username): set PGPASSWORD or add a line to the password file (PGPASSFILE or ~/.pgpass)"
                if !passwordWarnings.isEmpty { message += " (\(passwordWarnings.joined(separator: "; ")))" }
                return DeploymentError(.database, message)
            case .sslUnsupported:
                return DeploymentError(.database,
                    "PostgreSQL at \(target) does not accept TLS connections, but sslmode=\(location.sslMode.rawValue) requires TLS")
            case .unsupportedAuthMechanism:
                return DeploymentError(.database, "PostgreSQL at \(target) asked for an authentication method this software does not support (use scram-sha-256 or md5)")
            case .saslError:
                return DeploymentError(.database, "PostgreSQL authentication for user \(location.username) failed (SCRAM exchange error)")
            case .connectionError, .serverClosedConnection, .uncleanShutdown:
                if let underlying = error.underlying {
                    return DeploymentError(.database, "cannot connect to PostgreSQL at \(target): \(reason(underlying, location: location))")
                }
                return DeploymentError(.database, "cannot connect to PostgreSQL at \(target): the server closed the connection")
            default:
                return DeploymentError(.database, "cannot connect to PostgreSQL at \(target): \(error.code)")
            }
        }
        return DeploymentError(.database, "cannot connect to PostgreSQL at \(target): \(reason(error, location: location))")
    }

    /// An error of a query (or of a connection that broke during one).
    static func queryError(_ error: any Error, location: PostgresLocation, timeouts: PostgresDeploymentStore.Timeouts) -> DeploymentError {
        if let error = error as? DeploymentError { return error }
        let target = "\(location.serverDescription)/\(location.database)"
        if let error = error as? PSQLError {
            switch error.code {
            case .server:
                return serverError(error, location: location, timeouts: timeouts, passwordSource: nil)
            case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
                // The server's FATAL error that closed the connection, when there was one.
                if let cause = error.underlying as? PSQLError, cause.code == .server {
                    return serverError(cause, location: location, timeouts: timeouts, passwordSource: nil)
                }
                return DeploymentError(.database, "lost the connection to PostgreSQL at \(target)")
            default:
                return DeploymentError(.database, "PostgreSQL at \(target): \(error.code)")
            }
        }
        if error is StatementNotSent {
            return DeploymentError(.database,
                "the connection to PostgreSQL at \(target) had closed before the next statement was sent: nothing was written; run it again")
        }
        if error is PostgresDecodingError {
            return DeploymentError(.database, "PostgreSQL at \(target): a column has an unexpected type; the database is not a deployment database of this software")
        }
        return DeploymentError(.database, "PostgreSQL at \(target): \(error)")
    }

    /// A COMMIT sent whose answer never came: it may or may not have taken effect. Every
    /// mutation of the store is a compare-and-set or idempotent, so running the command again
    /// converges either way.
    static func commitOutcomeUnknown(location: PostgresLocation) -> DeploymentError {
        DeploymentError(.database,
            "lost the connection to PostgreSQL at \(location.serverDescription)/\(location.database) during COMMIT: outcome unknown: run it again")
    }

    /// Whether the server ended the session because it sat idle inside a transaction longer than
    /// `idle_in_transaction_session_timeout` (SQLSTATE 25P03, FATAL): the transaction was rolled
    /// back. The error arrives as the answer to the next query, or, when it came while no query was
    /// waiting, as the cause of the closed connection the next query finds.
    static func endedIdleTransaction(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        let server = error.code == .server ? error : error.underlying as? PSQLError
        return server?.serverInfo?[.sqlState] == "25P03"
    }

    /// Whether the connection is unusable after `error` (the next call reconnects).
    static func breaksConnection(_ error: any Error) -> Bool {
        if error is StatementNotSent { return true }
        guard let error = error as? PSQLError else { return false }
        if endedIdleTransaction(error) { return true }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .messageDecodingFailure,
             .unexpectedBackendMessage:
            return true
        default:
            return false
        }
    }

    /// An `ErrorResponse` of the server, by SQLSTATE.
    static func serverError(_ error: PSQLError, location: PostgresLocation, timeouts: PostgresDeploymentStore.Timeouts,
                            passwordSource: String?) -> DeploymentError {
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = oneLine(error.serverInfo?[.message] ?? "unknown server error")
        let target = "\(location.serverDescription)/\(location.database)"
        switch state {
        case "28P01":
            let from = passwordSource.map { " (password from \($0))" } ?? ""
            return DeploymentError(.database, "PostgreSQL rejected the password for user \(location.username)\(from)")
        case "28000":
            return DeploymentError(.database, "PostgreSQL at \(target) refused user \(location.username): \(message)")
        case "3D000":
            return DeploymentError(.database, "database \(location.database) does not exist on PostgreSQL at \(location.serverDescription)")
        case "42501":
            return DeploymentError(.database,
                "PostgreSQL denied user \(location.username) a privilege: \(message) (see docs/postgresql.md for the roles and grants)")
        case "53300":
            return DeploymentError(.database, "PostgreSQL at \(target) has too many connections; try again")
        case "57P01", "57P02", "57P03":
            return DeploymentError(.database, "PostgreSQL at \(target) is shutting down or starting up: \(message)")
        case "55P03":
            return DeploymentError(.database, "PostgreSQL at \(target): another session held a lock for more than \(Self.seconds(timeouts.lock)) s; try again")
        case "57014":
            return DeploymentError(.database, "PostgreSQL at \(target): a statement ran longer than \(Self.seconds(timeouts.statement)) s and was cancelled")
        case "25006":
            return DeploymentError(.database,
                "PostgreSQL at \(target) is read-only (a hot standby?): list the primary in the URL, or add target_session_attrs=read-write to a multi-host URL")
        case "25P03":
            return DeploymentError(.database,
                "PostgreSQL at \(target) ended the transaction after \(Self.seconds(timeouts.idleInTransaction)) s idle (idle_in_transaction_session_timeout): nothing was written; run it again")
        case "40001", "40P01":
            return DeploymentError(.database, "PostgreSQL at \(target) aborted a conflicting transaction; try again")
        default:
            return DeploymentError(.database, "PostgreSQL at \(target): \(message)\(state.isEmpty ? "" : " (SQLSTATE \(state))")")
        }
    }

    /// Why a connection could not be made, in a few words.
    static func reason(_ error: any Error, location: PostgresLocation) -> String {
        if let error = error as? IOError {
            return errnoReason(error.errnoCode)
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "timed out after \(Int(location.connectTimeout)) s"
        }
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return reason(first.error, location: location) }
            if error.dnsAError != nil || error.dnsAAAAError != nil { return "cannot resolve host name" }
            return "no address to connect to"
        }
        if let error = error as? SocketAddressError {
            switch error {
            case .unknown: return "cannot resolve host name"
            default: return "invalid address"
            }
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError {
            let text = String(describing: error)
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return "TLS handshake failed: the server's certificate could not be verified against the trusted CAs (sslmode=\(location.sslMode.rawValue); see sslrootcert)"
            }
            if text.lowercased().contains("hostname") {
                return "TLS handshake failed: the server's certificate does not name the host (sslmode=verify-full)"
            }
            return "TLS handshake failed (\(oneLine(text)))"
        }
        let text = oneLine(String(describing: error))
        if text.contains("refused") { return "connection refused" }
        return text
    }

    static func errnoReason(_ code: Int32) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused"
        case ENOENT: return "no such socket (is the server running?)"
        case EACCES, EPERM: return "permission denied"
        case ETIMEDOUT: return "timed out"
        case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
        case ECONNRESET: return "connection reset"
        default: return String(cString: strerror(code))
        }
    }

    static func seconds(_ value: TimeInterval) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func oneLine(_ text: String) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}
