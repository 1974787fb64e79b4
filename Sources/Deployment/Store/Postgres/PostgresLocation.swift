import Foundation

/// A parsed `postgres://` / `postgresql://` database location (a libpq-style connection URL).
///
/// ```
/// postgres://USER@HOST[:PORT]/DATABASE[?sslmode=MODE&sslrootcert=FILE&connect_timeout=SECONDS&application_name=NAME]
/// postgres://USER@[::1]:5432/DATABASE                      an IPv6 address in brackets
/// postgres://USER@%2Fvar%2Frun%2Fpostgresql/DATABASE       a unix-socket directory, percent-encoded
/// postgres://USER@/DATABASE?host=/var/run/postgresql       the same with the `host` parameter
/// ```
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

    /// Where the server listens.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        /// `directory` holds the socket `.s.PGSQL.<port>`, as with libpq's `host=/dir`.
        case unixSocket(directory: String, port: Int)
    }

    public static let defaultPort = 5432
    public static let defaultConnectTimeout: TimeInterval = 10

    public var username: String
    public var endpoint: Endpoint
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

    public var port: Int {
        switch endpoint {
        case .tcp(_, let port), .unixSocket(_, let port): return port
        }
    }

    /// `host:port` or the socket directory, for messages.
    public var serverDescription: String {
        switch endpoint {
        case .tcp(let host, let port):
            return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unixSocket(let directory, let port):
            return "\(directory)/.s.PGSQL.\(port)"
        }
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
        switch endpoint {
        case .tcp(let host, let port):
            text += host.contains(":") ? "[\(host)]" : Self.encode(host)
            if port != Self.defaultPort { text += ":\(port)" }
        case .unixSocket(let directory, let port):
            query.append("host=\(Self.encode(directory))")
            if port != Self.defaultPort { query.append("port=\(port)") }
        }
        text += "/" + Self.encode(database)
        if sslMode != .prefer { query.append("sslmode=\(sslMode.rawValue)") }
        if let sslRootCertificate { query.append("sslrootcert=\(Self.encode(sslRootCertificate))") }
        if connectTimeout != Self.defaultConnectTimeout { query.append("connect_timeout=\(Int(connectTimeout))") }
        if applicationName != "miis" { query.append("application_name=\(Self.encode(applicationName))") }
        if !query.isEmpty { text += "?" + query.joined(separator: "&") }
        return text
    }

    /// The query parameters the parser accepts (a `password` parameter is refused).
    static let supportedParameters: Set<String> = ["sslmode", "sslrootcert", "host", "port", "user", "dbname", "connect_timeout", "application_name"]

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
        var hostText: Substring = hostPort
        var portText: Substring? = nil
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw failure("unterminated [ in the host") }
            hostText = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw failure("unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.firstIndex(of: ":") {
            hostText = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        }
        if hostText.contains(",") { throw failure("multiple hosts are not supported") }

        var parameters: [String: String] = [:]
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
        }
        let known = Self.supportedParameters
        if let unknown = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw failure("unsupported parameter '\(unknown)' (supported: \(known.sorted().joined(separator: ", ")))")
        }

        guard let user = Self.decode(userText) else { throw failure("bad percent-encoding in the user name") }
        let username = user.isEmpty ? (parameters["user"] ?? "") : user
        guard !username.isEmpty else { throw failure("it names no user (postgres://USER@HOST/DATABASE)") }
        if !user.isEmpty, parameters["user"] != nil { throw failure("the user is given twice") }

        guard let host = Self.decode(hostText) else { throw failure("bad percent-encoding in the host") }
        if !host.isEmpty, parameters["host"] != nil { throw failure("the host is given twice") }
        let hostName = host.isEmpty ? (parameters["host"] ?? "") : host
        guard !hostName.isEmpty else { throw failure("it names no host (postgres://USER@HOST/DATABASE or ?host=/socket/directory)") }

        if portText != nil, parameters["port"] != nil { throw failure("the port is given twice") }
        var port = Self.defaultPort
        if let text = portText.map(String.init) ?? parameters["port"] {
            guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber),
                  let value = Int(text), (1...65535).contains(value) else {
                throw failure("the port must be a number from 1 to 65535")
            }
            port = value
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

        let endpoint: Endpoint
        if hostName.hasPrefix("/") {
            guard sslMode != .require, !sslMode.verifiesCertificate else {
                throw failure("sslmode=\(sslMode.rawValue) cannot be used with a unix socket")
            }
            endpoint = .unixSocket(directory: hostName, port: port)
        } else {
            guard hostName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._:".contains($0)) }) else {
                throw failure("the host must be a host name, an IP address or a socket directory")
            }
            endpoint = .tcp(host: hostName, port: port)
        }
        self.init(username: username, endpoint: endpoint, database: database, sslMode: sslMode,
                  sslRootCertificate: parameters["sslrootcert"], connectTimeout: timeout,
                  applicationName: parameters["application_name"] ?? "miis")
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
