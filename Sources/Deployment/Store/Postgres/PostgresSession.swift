import Foundation
import Logging
import PostgresNIO

/// The one PostgreSQL connection of a store: opened on first use within a bounded time, used by
/// one operation at a time (calls queue up in order), reopened after it broke, closed by
/// ``close()``. A CLI process is short-lived and does a handful of calls, so one connection is
/// enough and makes connection failures immediate and precise (no pool retrying in the background).
///
/// With a multi-host location, every (re)connection walks the host list in order, as libpq does,
/// and keeps the first server that fits `target_session_attrs`: a database failover is followed by
/// the next connection, never by a connection that stays on a server that stopped fitting.
actor PostgresSession {
    /// One server of the host list, ready to connect to.
    struct Candidate: Sendable {
        /// The location narrowed to this server, for its messages.
        let location: PostgresLocation
        let configuration: PostgresConnection.Configuration
        let passwordSource: String?
        let passwordWarnings: [String]
    }

    let candidates: [Candidate]
    let location: PostgresLocation
    let timeouts: PostgresDeploymentStore.Timeouts

    private var connection: PostgresConnection?
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    /// PostgresNIO's logging is switched off entirely: nothing it could log (queries, binds) reaches any output.
    static let logger = Logger(label: "miis.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(candidates: [Candidate], location: PostgresLocation, timeouts: PostgresDeploymentStore.Timeouts) {
        self.candidates = candidates
        self.location = location
        self.timeouts = timeouts
    }

    deinit {
        if let connection, !connection.isClosed {
            // The task keeps the connection alive until it is closed.
            Task { try? await connection.close() }
        }
    }

    /// Waits for the connection to be free, opens it if needed and lends it; pair with ``release(broken:)``.
    func acquire() async throws -> PostgresConnection {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        do {
            guard !closed else { throw DeploymentError(.database, "the PostgreSQL store for \(location.redacted) is closed") }
            if let connection, !connection.isClosed { return connection }
            connection = nil
            let opened = try await connect()
            connection = opened
            return opened
        } catch {
            release(broken: false)
            throw error
        }
    }

    /// Returns the connection; a broken one is closed and the next call reconnects.
    func release(broken: Bool) {
        if broken, let connection {
            self.connection = nil
            Task { try? await connection.close() }
        }
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }

    /// Closes the connection once the running call finished; later calls fail with `.database`.
    func close() async throws {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        closed = true
        let connection = self.connection
        self.connection = nil
        release(broken: false)
        if let connection, !connection.isClosed {
            do { try await connection.close() } catch { /* already gone: nothing to release */ }
        }
    }

    private struct ConnectTimeout: Error {}

    /// Connects to the first server of the host list that answers and fits the location's
    /// `target_session_attrs` (prefer-standby: a standby first, then any). One server: its own
    /// error, as it always was; several: every server's reason in one line.
    private func connect() async throws -> PostgresConnection {
        let wanted = location.targetSessionAttributes
        var reasons: [String] = []
        var lastError: DeploymentError?
        let passes = wanted == .preferStandby ? [true, false] : [true]
        for strict in passes {
            for candidate in candidates {
                let connection: PostgresConnection
                do {
                    connection = try await connect(candidate)
                } catch let error as DeploymentError {
                    lastError = error
                    if strict { reasons.append(error.message) }
                    continue
                }
                if wanted == .any { return connection }
                // Bounded like the connection itself: a server can accept and authenticate, then
                // stop answering (frozen, or gone with its host) before this first query returns.
                let watchdog = ConnectionWatchdog(closing: connection, after: candidate.location.connectTimeout)
                defer { watchdog.cancel() }
                do {
                    let (inRecovery, readOnly) = try await Self.sessionState(connection)
                    if wanted.accepts(inRecovery: inRecovery, readOnly: readOnly, strict: strict) { return connection }
                    if strict {
                        reasons.append("\(candidate.location.endpoint.description) is \(inRecovery ? "a hot standby (in recovery)" : readOnly ? "read-only" : "a writable primary")")
                    }
                } catch {
                    let mapped = watchdog.fired
                        ? DeploymentError(.database, "PostgreSQL at \(candidate.location.serverDescription)/\(candidate.location.database) did not answer within \(Int(candidate.location.connectTimeout)) s after connecting")
                        : PostgresErrorMapping.queryError(error, location: candidate.location, timeouts: timeouts)
                    lastError = mapped
                    if strict { reasons.append(mapped.message) }
                }
                try? await connection.close()
            }
        }
        if candidates.count == 1, reasons.count == 1, let lastError { throw lastError }
        throw DeploymentError(.database,
            "no usable PostgreSQL server in \(location.serverDescription)/\(location.database) (target_session_attrs=\(wanted.rawValue)): \(reasons.joined(separator: "; "))")
    }

    /// Whether the server is in recovery (a hot standby) and whether its sessions are read-only:
    /// what libpq's `target_session_attrs` looks at.
    private static func sessionState(_ connection: PostgresConnection) async throws -> (inRecovery: Bool, readOnly: Bool) {
        let rows = try await connection.fetch(
            "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.current_setting('transaction_read_only')", logger: logger)
        var state: (Bool, Bool)?
        for (inRecovery, readOnly) in try rows.decode((Bool, String).self) { state = (inRecovery, readOnly == "on") }
        guard let state else { throw DeploymentError(.database, "PostgreSQL returned no session state") }
        return state
    }

    /// Connects and authenticates to one server within `location.connectTimeout`, whatever stalls (TCP, TLS, authentication).
    private func connect(_ candidate: Candidate) async throws -> PostgresConnection {
        let configuration = candidate.configuration
        let location = candidate.location
        let timeout = location.connectTimeout
        do {
            return try await withThrowingTaskGroup(of: PostgresConnection?.self) { group in
                group.addTask {
                    try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Self.logger)
                }
                group.addTask {
                    try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
                    throw ConnectTimeout()
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let connection = first else { throw ConnectTimeout() }
                return connection
            }
        } catch is ConnectTimeout {
            throw DeploymentError(.database,
                "cannot connect to PostgreSQL at \(location.serverDescription)/\(location.database): timed out after \(Int(timeout)) s")
        } catch {
            throw PostgresErrorMapping.connectError(error, location: location, timeouts: timeouts, passwordSource: candidate.passwordSource,
                                                    passwordWarnings: candidate.passwordWarnings)
        }
    }
}
