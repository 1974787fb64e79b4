import Foundation

/// A parsed `postgres://` / `postgresql://` database location (a libpq-style connection URL).
///
/// ```
/// postgres://USER@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE&connect_timeout=SECONDS&application_name=NAME]
/// postgres://USER@[::1]:5432/DATABASE                      an IPv6 address in brackets
/// postgres://USER@%2Fvar%2Frun%2Fpostgresql/DATABASE       a unix-socket directory, percent-encoded
/// postgres://USER@/DATABASE?host=/var/run/postgresql       the same with the `host` parameter
/// postgres://USER@db1,db2:5433/DATABASE?target_session_attrs=read-write   several hosts, the libpq way
/// ```
///
/// Several hosts (in the authority, each with its own port, or `?host=h1,h2&port=p1,p2`) are
/// tried in order, as libpq does; the first that accepts the connection and fits
/// `target_session_attrs` is used (see ``TargetSessionAttributes``), so that after a database
/// failover the next connection finds the promoted server.
///
/// A password in the URL (`USER:PASSWORD@` or `?password=`) is refused: passwords come from
/// `PGPASSWORD` or a `.pgpass` file (see ``PostgresPasswordLookup``). Every message about a
/// location uses ``redacted``, never the text the user typed.
public struct PostgresLocation: Sendable, Equatable {
    /// TLS policy, libpq's `sslmode`.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Never TLS.
        case disable
        /// libpq tries plain first; PostgresNIO cannot, so this behaves like `prefer` (TLS if the
        /// server offers it, plain otherwise; the certificate is not verified).
        case allow
        /// TLS if the server supports it (certificate not verified); the default, as in libpq.
        case prefer
        /// TLS required; the certificate is not verified (encryption only), as in libpq without a root certificate.
        case require
        /// TLS required and the certificate must chain to a trusted root (`sslrootcert` or the system roots).
        case verifyCA = "verify-ca"
        /// As `verify-ca`, and the certificate must name the host.
        case verifyFull = "verify-full"

        /// Whether the connection fails without TLS.
        public var requiresTLS: Bool {
            switch self {
            case .disable, .allow, .prefer: return false
            case .require, .verifyCA, .verifyFull: return true
            }
        }

        /// Whether the server certificate is verified.
        public var verifiesCertificate: Bool { self == .verifyCA || self == .verifyFull }
    }

    /// Which server of a host list a connection must reach, libpq's `target_session_attrs`.
    public enum TargetSessionAttributes: String, Sendable, CaseIterable {
        /// The first server that accepts the connection (libpq's default).
        case any
        /// A server whose sessions accept writes (`transaction_read_only` is off).
        case readWrite = "read-write"
        /// A server whose sessions are read-only.
        case readOnly = "read-only"
        /// A server not in recovery (`pg_is_in_recovery()` is false).
        case primary
        /// A server in recovery: a hot standby.
        case standby
        /// A standby if one answers, else any server.
        case preferStandby = "prefer-standby"

        /// Whether a server in this state fits; `strict` is false on prefer-standby's second pass.
        package func accepts(inRecovery: Bool, readOnly: Bool, strict: Bool = true) -> Bool {
            switch self {
            case .any: return true
            case .readWrite: return !readOnly
            case .readOnly: return readOnly
            case .primary: return !inRecovery
            case .standby: return inRecovery
            case .preferStandby: return inRecovery || !strict
            }
        }
    }

    /// Where the server listens.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// `directory` holds the socket `.s.PGSQL.<port>`, as with libpq's `host=/dir`.
        case unixSocket(directory: String, port: Int)

        /// The TCP port, or the port in the socket file's name.
        public var port: Int {
            switch self {
            case .tcp(_, let port), .unixSocket(_, let port): return port
            }
        }

        /// `host:port` or the socket file, for messages.
        public var description: String {
            switch self {
            case .tcp(let host, let port):
                return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unixSocket(let directory, let port):
                return "\(directory)/.s.PGSQL.\(port)"
            }
        }
    }

    public static let defaultPort = 5432
    public static let defaultConnectTimeout: TimeInterval = 10

    public var username: String
    /// The first (or only) server of the host list.
    public var endpoint: Endpoint
    /// The further servers of a multi-host URL, tried in order after ``endpoint``.
    public var additionalEndpoints: [Endpoint] = []
    /// Which server of the host list the connection must reach.
    public var targetSessionAttributes: TargetSessionAttributes = .any
    public var database: String
    public var sslMode: SSLMode
    /// PEM file of trusted root certificates for `verify-ca` / `verify-full` (libpq's `sslrootcert`).
    public var sslRootCertificate: String?
    public var connectTimeout: TimeInterval
    public var applicationName: String

    public init(username: String, endpoint: Endpoint, database: String, sslMode: SSLMode = .prefer,
                sslRootCertificate: String? = nil, connectTimeout: TimeInterval = PostgresLocation.defaultConnectTimeout,
                applicationName: String = "miis") {
        self.username = username
        self.endpoint = endpoint
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificate = sslRootCertificate
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
    }

    /// Whether `location` names a PostgreSQL database (a `postgres://` or `postgresql://` URL).
    public static func isPostgresURL(_ location: String) -> Bool {
        let lowered = location.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Every server of the host list, in the order they are tried.
    public var endpoints: [Endpoint] { [endpoint] + additionalEndpoints }

    /// This location narrowed to one server of its host list (what one connection attempt uses).
    public func narrowed(to endpoint: Endpoint) -> PostgresLocation {
        var location = self
        location.endpoint = endpoint
        location.additionalEndpoints = []
        return location
    }

    /// The first server's port.
    public var port: Int { endpoint.port }

    /// `host:port` or the socket path of every server, comma-separated, for messages.
    public var serverDescription: String {
        endpoints.map(\.description).joined(separator: ",")
    }

    /// The socket file for a unix-socket endpoint.
    public var unixSocketPath: String? {
        if case .unixSocket(let directory, let port) = endpoint {
            return (directory.hasSuffix("/") ? directory : directory + "/") + ".s.PGSQL.\(port)"
        }
        return nil
    }

    /// The location as a URL without any secret: safe for logs, errors and output.
    public var redacted: String {
        var text = "postgres://\(Self.encode(username))@"
        var query: [String] = []
        let tcpHosts = endpoints.compactMap { endpoint -> String? in
            guard case .tcp(let host, let port) = endpoint else { return nil }
            let name = host.contains(":") ? "[\(host)]" : Self.encode(host)
            return port == Self.defaultPort ? name : "\(name):\(port)"
        }
        if tcpHosts.count == endpoints.count {
            text += tcpHosts.joined(separator: ",")
        } else {
            // A socket directory is not an authority: every host goes in the `host` parameter.
            query.append("host=" + endpoints.map { endpoint -> String in
                switch endpoint {
                case .tcp(let host, _): return Self.encode(host)
                case .unixSocket(let directory, _): return Self.encode(directory)
                }
            }.joined(separator: ","))
            if endpoints.contains(where: { $0.port != Self.defaultPort }) {
                query.append("port=" + endpoints.map { String($0.port) }.joined(separator: ","))
            }
        }
        text += "/" + Self.encode(database)
        if sslMode != .prefer { query.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCertificate { query.append("sslrootcert=\(Self.encode(sslRootCertificate))") }
        if connectTimeout != Self.defaultConnectTimeout { query.append("connect_timeout=\(Int(connectTimeout))") }
        if applicationName != "miis" { query.append("application_name=\(Self.encode(applicationName))") }
        if targetSessionAttributes != .any { query.append("target_session_attrs=\(targetSessionAttributes.rawValue)") }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }

    /// The query parameters the parser accepts (a `password` parameter is refused).
    static let supportedParameters: Set<String> = ["sslmode", "sslrootcert", "host", "port", "user", "dbname", "connect_timeout", "application_name",
                                                   "target_session_attrs"]

    /// The longest host list accepted: each host may cost a whole `connect_timeout`.
    static let maximumHosts = 16

    /// A redaction of an arbitrary location string (one that may not even parse) that never shows
    /// a password, whatever it contains: the password of `user:password@` and the value of any
    /// `password=` parameter become `***`.
    ///
    /// A password may hold `/`, `?`, `#`, `@`, `&` or `=` unencoded, so no delimiter after its
    /// start can be trusted to end it. A `:` before the first `@` starts a userinfo password, and
    /// it runs to the *last* `@` of the text; a `password` parameter (its name percent-decoded,
    /// any case) runs to the next `&` that starts a supported parameter, or to the end. When in
    /// doubt more is hidden, never less: `h:5432/d?application_name=a@b` shows as `h:***@b`.
    public static func redact(_ location: String) -> String {
        guard isPostgresURL(location), let schemeEnd = location.range(of: "://") else { return location }
        var result = String(location[..<schemeEnd.upperBound])
        var rest = location[schemeEnd.upperBound...]
        if let firstAt = rest.firstIndex(of: "@"), let colon = rest[..<firstAt].firstIndex(of: ":"),
           let lastAt = rest.lastIndex(of: "@") {
            result += rest[..<colon] + ":***"
            rest = rest[lastAt...]
        }
        guard let questionMark = rest.firstIndex(of: "?") else { return result + rest }
        result += rest[...questionMark]
        func name(_ parameter: Substring) -> String {
            let raw = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return (raw.removingPercentEncoding ?? String(raw)).trimmingCharacters(in: .whitespaces).lowercased()
        }
        var shown: [String] = []
        var insidePassword = false
        for parameter in rest[rest.index(after: questionMark)...].split(separator: "&", omittingEmptySubsequences: false) {
            let key = name(parameter)
            if key == "password" {
                insidePassword = true
                shown.append("password=***")
            } else if insidePassword, !supportedParameters.contains(key) {
                continue  // still the password's value: it held an '&'
            } else {
                insidePassword = false
                shown.append(String(parameter))
            }
        }
        return result + shown.joined(separator: "&")
    }

    /// Parses a `postgres://` or `postgresql://` URL. Errors are `.database` and never quote the
    /// password; they quote the redacted URL only.
    public init(url: String) throws {
        func failure(_ reason: String) -> DeploymentError {
            DeploymentError(.database, "invalid PostgreSQL URL \(Self.redact(url)): \(reason)")
        }
        guard Self.isPostgresURL(url), let schemeEnd = url.range(of: "://") else {
            throw failure("it must start with postgres:// or postgresql://")
        }
        guard !url.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " }) else {
            throw failure("it contains spaces or control characters")
        }
        var rest = url[schemeEnd.upperBound...]
        var queryText: Substring = ""
        if let questionMark = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: questionMark)...]
            rest = rest[..<questionMark]
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        let pathText = slash < rest.endIndex ? rest[rest.index(after: slash)...] : ""

        // user[:password]@host[:port]
        var userText: Substring = ""
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            userText = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            if userText.contains(":") {
                throw DeploymentError(.database,
                    "the PostgreSQL URL \(Self.redact(url)) contains a password; remove it and use PGPASSWORD or a ~/.pgpass file instead")
            }
        }
        // host[:port][,host[:port]...], libpq's multi-host form: an empty port is the default one.
        let authorityEntries = hostPort.isEmpty ? [] : hostPort.split(separator: ",", omittingEmptySubsequences: false)
        var authorityHosts: [String] = []
        var authorityPorts: [Substring?] = []
        for entry in authorityEntries {
            var hostText: Substring = entry
            var portText: Substring? = nil
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]") else { throw failure("unterminated [ in the host") }
                hostText = entry[entry.index(after: entry.startIndex)..<close]
                let after = entry[entry.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":") else { throw failure("unexpected text after the IPv6 address") }
                    portText = after.dropFirst()
                }
            } else if let colon = entry.firstIndex(of: ":") {
                hostText = entry[..<colon]
                portText = entry[entry.index(after: colon)...]
            }
            guard let host = Self.decode(hostText) else { throw failure("bad percent-encoding in the host") }
            guard !host.isEmpty else { throw failure("an empty host in the host list") }
            authorityHosts.append(host)
            authorityPorts.append(portText)
        }

        var parameters: [String: String] = [:]
        var rawHostParameter: Substring?
        for item in queryText.split(separator: "&") {
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.decode(pair[0]) else { throw failure("bad percent-encoding in a parameter name") }
            if key == "password" {
                throw DeploymentError(.database,
                    "the PostgreSQL URL \(Self.redact(url)) contains a password; remove it and use PGPASSWORD or a ~/.pgpass file instead")
            }
            guard pair.count == 2, let value = Self.decode(pair[1]) else { throw failure("parameter '\(key)' has no valid value") }
            guard parameters[key] == nil else { throw failure("parameter '\(key)' is given twice") }
            parameters[key] = value
            if key == "host" { rawHostParameter = pair[1] }
        }
        let known = Self.supportedParameters
        if let unknown = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw failure("unsupported parameter '\(unknown)' (supported: \(known.sorted().joined(separator: ", ")))")
        }

        guard let user = Self.decode(userText) else { throw failure("bad percent-encoding in the user name") }
        let username = user.isEmpty ? (parameters["user"] ?? "") : user
        guard !username.isEmpty else { throw failure("it names no user (postgres://USER@HOST/DATABASE)") }
        if !user.isEmpty, parameters["user"] != nil { throw failure("the user is given twice") }

        // The host list: from the authority, or from `host=` (split before decoding, so that an
        // encoded %2C stays part of a name).
        if !authorityHosts.isEmpty, rawHostParameter != nil { throw failure("the host is given twice") }
        var hostNames = authorityHosts
        if hostNames.isEmpty, let rawHostParameter {
            for raw in rawHostParameter.split(separator: ",", omittingEmptySubsequences: false) {
                guard let host = Self.decode(raw), !host.isEmpty else { throw failure("an empty or badly encoded host in the host list") }
                hostNames.append(host)
            }
        }
        guard !hostNames.isEmpty else { throw failure("it names no host (postgres://USER@HOST/DATABASE or ?host=/socket/directory)") }
        guard hostNames.count <= Self.maximumHosts else { throw failure("at most \(Self.maximumHosts) hosts may be listed") }

        func portNumber<S: StringProtocol>(_ text: S) throws -> Int {
            guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
                  let value = Int(text), (1...65535).contains(value) else {
                throw failure("the port must be a number from 1 to 65535")
            }
            return value
        }
        let authorityHasPorts = authorityPorts.contains { $0 != nil }
        if authorityHasPorts, parameters["port"] != nil { throw failure("the port is given twice") }
        var ports: [Int]
        if authorityHasPorts {
            ports = try authorityPorts.map { entry in try entry.map { try portNumber($0) } ?? Self.defaultPort }
        } else if let text = parameters["port"] {
            // libpq: one port for every host, or one per host (an empty entry is the default port).
            let entries = text.split(separator: ",", omittingEmptySubsequences: false)
            ports = try entries.map { $0.isEmpty && entries.count > 1 ? Self.defaultPort : try portNumber($0) }
            if ports.count == 1 { ports = Array(repeating: ports[0], count: hostNames.count) }
            guard ports.count == hostNames.count else {
                throw failure("\(ports.count) ports for \(hostNames.count) hosts (give one port, or one per host)")
            }
        } else {
            ports = Array(repeating: Self.defaultPort, count: hostNames.count)
        }

        guard let path = Self.decode(pathText) else { throw failure("bad percent-encoding in the database name") }
        if !path.isEmpty, parameters["dbname"] != nil { throw failure("the database is given twice") }
        let database = path.isEmpty ? (parameters["dbname"] ?? "") : path
        guard !database.isEmpty else { throw failure("it names no database (postgres://USER@HOST/DATABASE)") }
        guard !database.contains("/") else { throw failure("the database name must not contain '/'") }

        var sslMode = SSLMode.prefer
        if let text = parameters["sslmode"] {
            guard let mode = SSLMode(rawValue: text) else {
                throw failure("sslmode must be one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            sslMode = mode
        }
        var timeout = Self.defaultConnectTimeout
        if let text = parameters["connect_timeout"] {
            guard let value = Int(text), (1...3600).contains(value) else {
                throw failure("connect_timeout must be a number of seconds from 1 to 3600")
            }
            timeout = TimeInterval(value)
        }

        var targetSessionAttributes = TargetSessionAttributes.any
        if let text = parameters["target_session_attrs"] {
            guard let value = TargetSessionAttributes(rawValue: text) else {
                throw failure("target_session_attrs must be one of \(TargetSessionAttributes.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            targetSessionAttributes = value
        }

        var endpoints: [Endpoint] = []
        for (hostName, port) in zip(hostNames, ports) {
            if hostName.hasPrefix("/") {
                guard sslMode != .require, !sslMode.verifiesCertificate else {
                    throw failure("sslmode=\(sslMode.rawValue) cannot be used with a unix socket")
                }
                endpoints.append(.unixSocket(directory: hostName, port: port))
            } else {
                guard hostName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) }) else {
                    throw failure("the host must be a host name, an IP address or a socket directory")
                }
                endpoints.append(.tcp(host: hostName, port: port))
            }
        }
        guard let first = endpoints.first else { throw failure("it names no host") }
        self.init(username: username, endpoint: first, database: database, sslMode: sslMode,
                  sslRootCertificate: parameters["sslrootcert"], connectTimeout: timeout,
                  applicationName: parameters["application_name"] ?? "miis")
        self.additionalEndpoints = Array(endpoints.dropFirst())
        self.targetSessionAttributes = targetSessionAttributes
    }

    private static func decode<S: StringProtocol>(_ text: S) -> String? {
        String(text).removingPercentEncoding
    }

    private static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
