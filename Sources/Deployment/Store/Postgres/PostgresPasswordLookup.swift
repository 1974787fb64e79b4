import Foundation

/// Finds the password for a PostgreSQL connection the way libpq does, without ever putting it in
/// a URL or argv:
/// 1. `PGPASSWORD`, when set and not empty;
/// 2. else the first matching line of the password file: `PGPASSFILE`, else `~/.pgpass`, where
///    `~` is `HOME`, or when `HOME` is unset or empty (a systemd unit without `User=`, `env -i`)
///    the home directory of the effective user's passwd entry, as libpq's `pqGetHomeDirectory`.
///    A `PGPASSFILE` that does not exist means no password file: libpq does not fall back.
///
/// The password file has lines `hostname:port:database:username:password`; `#` starts a comment
/// line; each of the first four fields may be `*` (matches anything); `\:` and `\\` escape a colon
/// and a backslash. For a unix-socket connection, `localhost` or the socket directory matches the
/// host field. As libpq does, a file readable or writable by group or others is ignored (with a
/// warning in ``Result/warnings``), as is anything that is not a regular file.
public struct PostgresPasswordLookup: Sendable {
    public struct Result: Sendable {
        /// The password, if one was found. Never log or print it.
        public var password: String?
        /// Where it came from, for messages: `PGPASSWORD` or the password file's path.
        public var source: String?
        /// Why a password file was ignored (permissions, not a regular file). No secrets.
        public var warnings: [String]
    }

    /// One parsed password-file line.
    public struct Entry: Sendable, Equatable {
        public var host: String
        public var port: String
        public var database: String
        public var username: String
        public var password: String

        public init(host: String, port: String, database: String, username: String, password: String) {
            self.host = host
            self.port = port
            self.database = database
            self.username = username
            self.password = password
        }

        public func matches(host: String, port: Int, database: String, username: String, isUnixSocket: Bool) -> Bool {
            let hostMatches = self.host == "*" || self.host == host || (isUnixSocket && self.host == "localhost")
            return hostMatches
                && (self.port == "*" || self.port == String(port))
                && (self.database == "*" || self.database == database)
                && (self.username == "*" || self.username == username)
        }
    }

    public var environment: [String: String]
    /// The home directory used when `HOME` is unset: the effective user's, from the passwd database.
    let passwdHomeDirectory: @Sendable () -> String?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.init(environment: environment, passwdHomeDirectory: { OperatorIdentity.passwdEntry(geteuid())?.home })
    }

    /// `passwdHomeDirectory` stands in for the passwd database (tests).
    init(environment: [String: String], passwdHomeDirectory: @escaping @Sendable () -> String?) {
        self.environment = environment
        self.passwdHomeDirectory = passwdHomeDirectory
    }

    /// The password file this lookup reads: `PGPASSFILE`, else `~/.pgpass` (`HOME`, else the
    /// passwd entry's home directory).
    public var passwordFilePath: String? {
        if let path = environment["PGPASSFILE"], !path.isEmpty { return path }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? passwdHomeDirectory()
        guard let home else { return nil }
        return (home.hasSuffix("/") ? home : home + "/") + ".pgpass"
    }

    public func password(for location: PostgresLocation) -> Result {
        if let password = environment["PGPASSWORD"], !password.isEmpty {
            return Result(password: password, source: "PGPASSWORD", warnings: [])
        }
        guard let path = passwordFilePath else { return Result(password: nil, source: nil, warnings: []) }
        var info = stat()
        guard stat(path, &info) == 0 else { return Result(password: nil, source: nil, warnings: []) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            return Result(password: nil, source: nil, warnings: ["password file \(path) is not a regular file; ignored"])
        }
        guard info.st_mode & 0o077 == 0 else {
            return Result(password: nil, source: nil, warnings: [
                "password file \(path) has group or world access; it is ignored (permissions should be u=rw, chmod 0600)"])
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return Result(password: nil, source: nil, warnings: ["password file \(path) cannot be read; ignored"])
        }
        let (host, isSocket): (String, Bool)
        switch location.endpoint {
        case .tcp(let name, _): (host, isSocket) = (name, false)
        case .unixSocket(let directory, _): (host, isSocket) = (directory, true)
        }
        for entry in Self.parse(text) where entry.matches(host: host, port: location.port, database: location.database,
                                                           username: location.username, isUnixSocket: isSocket) {
            return Result(password: entry.password, source: path, warnings: [])
        }
        return Result(password: nil, source: nil, warnings: [])
    }

    /// Parses password-file text. Lines with fewer than five fields are skipped, as libpq does;
    /// in the password field (the last), a further unescaped colon ends it.
    public static func parse(_ text: String) -> [Entry] {
        var entries: [Entry] = []
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.hasPrefix("#") || line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            var fields: [String] = []
            var current = ""
            var escaped = false
            for character in line {
                if escaped {
                    current.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == ":" {
                    fields.append(current)
                    current = ""
                    if fields.count == 5 { break }
                } else {
                    current.append(character)
                }
            }
            if fields.count < 5 { fields.append(current) }
            guard fields.count >= 5 else { continue }
            entries.append(Entry(host: fields[0], port: fields[1], database: fields[2], username: fields[3], password: fields[4]))
        }
        return entries
    }
}
