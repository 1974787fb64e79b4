import Logging
import NIOCore
import PostgresNIO

/// A statement the store did not send: its connection had closed before it could take it (the
/// server ended the session, the network reset it, the watchdog closed it). Nothing of it reached
/// the server.
struct StatementNotSent: Error {}

extension PostgresConnection {
    /// Runs one statement and returns all its rows; throws ``StatementNotSent`` if the connection
    /// had closed before the statement could be sent. Every statement of the store goes through
    /// here (BEGIN and COMMIT included), none through `query(_:logger:)`.
    ///
    /// postgres-nio's `query` hands the statement to its channel with a write whose failure nobody
    /// hears: once the channel has closed, the write is dropped and the caller waits for an answer
    /// for ever, and no watchdog ends that wait by closing a connection that is closed already.
    /// Here the check and the hand-over run together on the connection's event loop, the thread
    /// where the channel closes: an open channel takes the statement (and fails it with the
    /// connection's error if it closes later), a closed one is never handed it.
    func fetch(_ query: PostgresQuery, logger: Logger) async throws -> PostgresQueryResult {
        let eventLoop = self.eventLoop
        return try await eventLoop.flatSubmit {
            guard !self.isClosed else { return eventLoop.makeFailedFuture(StatementNotSent()) }
            return self.query(query, logger: logger)
        }.get()
    }
}

extension PostgresQueryResult {
    /// Every row decoded as `columns`.
    func decode<each Column: PostgresDecodable>(_ columns: (repeat each Column).Type) throws -> [(repeat each Column)] {
        try rows.map { try $0.decode(columns) }
    }

    /// Every row's single column decoded as `column`.
    func decode<Column: PostgresDecodable>(_ column: Column.Type) throws -> [Column] {
        try rows.map { try $0.decode(column) }
    }
}
