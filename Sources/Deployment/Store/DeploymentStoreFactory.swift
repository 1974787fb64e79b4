import Foundation

/// Opens the store a database location names: a `postgres://` or `postgresql://` URL for
/// PostgreSQL, anything else a SQLite file path.
public enum DeploymentStoreFactory {
    public enum Engine: String, Sendable, Equatable {
        case sqlite
        case postgresql
    }

    /// Which engine `location` names.
    public static func engine(for location: String) -> Engine {
        let lowered = location.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") ? .postgresql : .sqlite
    }

    /// The files a SQLite `location` keeps (the database, its WAL, shared-memory index and rollback
    /// journal); none for PostgreSQL. This process must never open and close them itself: closing
    /// any descriptor of a file drops every POSIX lock the process holds on it, SQLite's included.
    public static func localFiles(for location: String) -> [String] {
        guard engine(for: location) == .sqlite, !location.isEmpty else { return [] }
        return [location, location + "-wal", location + "-shm", location + "-journal"]
    }

    /// Opens the deployment database at `location`. With `create`, a missing SQLite file is
    /// created (empty: call `migrate(to:)`); otherwise a missing file is a `.database` error.
    /// A PostgreSQL database must exist (its schema is created by `migrate(to:)`).
    public static func open(location: String, create: Bool = false) throws -> any DeploymentStore {
        guard !location.isEmpty else { throw DeploymentError(.database, "no database location given") }
        switch engine(for: location) {
        case .postgresql:
            // Checks the URL and TLS settings; the connection opens on first use.
            return try PostgresDeploymentStore(url: location)
        case .sqlite:
            return try SQLiteDeploymentStore(path: location, create: create)
        }
    }
}

extension DeploymentStoreFactory {
    /// Opens the store at `location`, runs `body` with it and closes it, awaited, whether `body`
    /// returns or throws: a process that exits right after never leaves a connection half closed.
    public static func withStore<T>(location: String, create: Bool = false,
                                    _ body: (any DeploymentStore) async throws -> T) async throws -> T {
        let store = try open(location: location, create: create)
        do {
            let result = try await body(store)
            try? await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}
