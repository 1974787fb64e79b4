import Foundation
import Logging
import PostgresNIO

/// The one PostgreSQL connection of a store: opened on first use within a bounded time, used by
/// one operation at a time (calls queue up in order), reopened after it broke, closed by
/// ``close()``. A CLI process is short-lived and does a handful of calls, so one connection is
/// enough and makes connection failures immediate and precise (no pool retrying in the background).
actor PostgresSession {
    let configuration: PostgresConnection.Configuration
    let location: PostgresLocation
    let timeouts: PostgresDeploymentStore.Timeouts
    let passwordSource: String?
    let passwordWarnings: [String]

    private var connection: PostgresConnection?
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    /// PostgresNIO's logging is switched off entirely: nothing it could log (queries, binds) reaches any output.
    static let logger = Logger(label: "miis.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(configuration: PostgresConnection.Configuration, location: PostgresLocation, timeouts: PostgresDeploymentStore.Timeouts,
         passwordSource: String?, passwordWarnings: [String]) {
        self.configuration = configuration
        self.location = location
        self.timeouts = timeouts
        self.passwordSource = passwordSource
        self.passwordWarnings = passwordWarnings
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

    /// Connects and authenticates within `location.connectTimeout`, whatever stalls (TCP, TLS, authentication).
    private func connect() async throws -> PostgresConnection {
        let configuration = self.configuration
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
            throw PostgresErrorMapping.connectError(error, location: location, timeouts: timeouts, passwordSource: passwordSource,
                                                    passwordWarnings: passwordWarnings)
        }
    }
}
