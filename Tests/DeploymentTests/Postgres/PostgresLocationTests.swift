import Deployment
import Foundation
import Testing

@Suite("PostgreSQL URL parsing (no server)")
struct PostgresLocationTests {
    @Test func everyPart() throws {
        let location = try PostgresLocation(url: "postgres://miis@db.example.com:6543/deployment?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=3&application_name=miisserver")
        #expect(location.username == "miis")
        #expect(location.endpoint == .tcp(host: "db.example.com", port: 6543))
        #expect(location.database == "deployment")
        #expect(location.sslMode == .verifyFull)
        #expect(location.sslRootCertificate == "/etc/ca.pem")
        #expect(location.connectTimeout == 3)
        #expect(location.applicationName == "miisserver")
        #expect(location.serverDescription == "db.example.com:6543")
    }

    @Test func defaults() throws {
        let location = try PostgresLocation(url: "postgresql://miis@127.0.0.1/miis")
        #expect(location.endpoint == .tcp(host: "127.0.0.1", port: 5432))
        #expect(location.sslMode == .prefer)
        #expect(location.connectTimeout == 10)
        #expect(location.sslRootCertificate == nil)
        #expect(location.redacted == "postgres://miis@127.0.0.1/miis")
    }

    @Test func schemeIsCaseInsensitive() throws {
        #expect(PostgresLocation.isPostgresURL("POSTGRES://miis@h/d"))
        #expect(PostgresLocation.isPostgresURL("postgresql://miis@h/d"))
        #expect(!PostgresLocation.isPostgresURL("/var/lib/miis/deployment.sqlite"))
        #expect(!PostgresLocation.isPostgresURL("mysql://miis@h/d"))
        _ = try PostgresLocation(url: "PostgreSQL://miis@h/d")
    }

    @Test(arguments: PostgresLocation.SSLMode.allCases)
    func sslModes(_ mode: PostgresLocation.SSLMode) throws {
        let location = try PostgresLocation(url: "postgres://miis@h/d?sslmode=\(mode.rawValue)")
        #expect(location.sslMode == mode)
        #expect(location.sslMode.requiresTLS == [.require, .verifyCA, .verifyFull].contains(mode))
        #expect(location.sslMode.verifiesCertificate == [.verifyCA, .verifyFull].contains(mode))
        // TLS settings can be built for every mode (system trust roots).
        _ = try PostgresDeploymentStore(location: location, environment: [:])
    }

    @Test func badSSLModeRefused() {
        #expect(throws: DeploymentError.self) { try PostgresLocation(url: "postgres://miis@h/d?sslmode=always") }
    }

    @Test func ipv6() throws {
        let location = try PostgresLocation(url: "postgres://miis@[::1]:5433/miis")
        #expect(location.endpoint == .tcp(host: "::1", port: 5433))
        #expect(location.serverDescription == "[::1]:5433")
        #expect(location.redacted == "postgres://miis@[::1]:5433/miis")
    }

    @Test func unixSocketByParameter() throws {
        let location = try PostgresLocation(url: "postgres://miis@/miis?host=/var/run/postgresql&port=5433")
        #expect(location.endpoint == .unixSocket(directory: "/var/run/postgresql", port: 5433))
        #expect(location.unixSocketPath == "/var/run/postgresql/.s.PGSQL.5433")
        #expect(location.redacted == "postgres://miis@/miis?host=%2Fvar%2Frun%2Fpostgresql&port=5433")
        #expect(try PostgresLocation(url: location.redacted) == location)
    }

    @Test func unixSocketPercentEncoded() throws {
        let location = try PostgresLocation(url: "postgresql://miis@%2Ftmp%2Fpg/miis")
        #expect(location.endpoint == .unixSocket(directory: "/tmp/pg", port: 5432))
        #expect(location.unixSocketPath == "/tmp/pg/.s.PGSQL.5432")
    }

    @Test func unixSocketRefusesRequiredTLS() {
        #expect(throws: DeploymentError.self) { try PostgresLocation(url: "postgres://miis@/miis?host=/tmp&sslmode=require") }
    }

    @Test func percentEncodedUserAndDatabase() throws {
        let location = try PostgresLocation(url: "postgres://miis%40corp@h/my%20db")
        #expect(location.username == "miis@corp")
        #expect(location.database == "my db")
        #expect(try PostgresLocation(url: location.redacted) == location)
    }

    @Test func userAndDatabaseAsParameters() throws {
        let location = try PostgresLocation(url: "postgres://h?user=miis&dbname=miis")
        #expect(location.username == "miis")
        #expect(location.database == "miis")
    }

    @Test(arguments: [
        "postgres://h/miis",                    // no user
        "postgres://miis@h",                    // no database
        "postgres://miis@h/",                   // no database
        "postgres://miis@/miis",                // no host
        "postgres://miis@h:0/miis",             // port out of range
        "postgres://miis@h:65536/miis",
        "postgres://miis@h:54x/miis",
        "postgres://miis@h:/miis",
        "postgres://miis@h1,/miis",             // an empty host in the list
        "postgres://miis@,h2/miis",
        "postgres://miis@h1:5432,h2:x/miis",    // one bad port
        "postgres://miis@/miis?host=h1,h2,h3&port=1,2",   // neither one port nor one per host
        "postgres://miis@h1,h2:5432/miis?port=5433",  // ports in the authority and as a parameter
        "postgres://miis@h1,h2/miis?target_session_attrs=writable",
        "postgres://miis@h1,h2/miis?target_session_attrs=read-write&target_session_attrs=any",
        "postgres://miis@h1,h2/miis?host=h3",   // hosts given twice
        "postgres://miis@h0,h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,h16/miis",  // more than 16 hosts
        "postgres://miis@h/miis?foo=bar",       // unknown parameter
        "postgres://miis@h/miis?sslmode",       // parameter without value
        "postgres://miis@h/miis?sslmode=require&sslmode=disable",
        "postgres://miis@h/a/b",
        "postgres://miis@h/mi is",
        "postgres://miis@h/miis?connect_timeout=0",
        "postgres://miis@[::1/miis",
        "postgres://miis@h%zz/miis",
        "mysql://miis@h/miis",
        "/var/lib/miis.sqlite",
    ])
    func invalidURLsRefused(_ url: String) {
        #expect(throws: DeploymentError.self) { try PostgresLocation(url: url) }
    }

    // MARK: - Several hosts, the libpq way

    @Test func multiHostURLKeepsOrderAndPorts() throws {
        let location = try PostgresLocation(url: "postgres://miis@db1,db2:5433,[::1]:6000/deployment?target_session_attrs=read-write")
        #expect(location.endpoints == [.tcp(host: "db1", port: 5432), .tcp(host: "db2", port: 5433), .tcp(host: "::1", port: 6000)])
        #expect(location.endpoint == .tcp(host: "db1", port: 5432))
        #expect(location.targetSessionAttributes == .readWrite)
        #expect(location.serverDescription == "db1:5432,db2:5433,[::1]:6000")
        #expect(location.redacted == "postgres://miis@db1,db2:5433,[::1]:6000/deployment?target_session_attrs=read-write")
        #expect(try PostgresLocation(url: location.redacted) == location)
    }

    @Test func eachHostItsOwnPort() throws {
        let location = try PostgresLocation(url: "postgresql://miis@h1:5433,h2:5434/miis")
        #expect(location.endpoints == [.tcp(host: "h1", port: 5433), .tcp(host: "h2", port: 5434)])
        #expect(location.targetSessionAttributes == .any)
        #expect(location.redacted == "postgres://miis@h1:5433,h2:5434/miis")
    }

    @Test func hostAndPortListsAsParameters() throws {
        let onePort = try PostgresLocation(url: "postgres://miis@/miis?host=h1,h2&port=6543")
        #expect(onePort.endpoints == [.tcp(host: "h1", port: 6543), .tcp(host: "h2", port: 6543)])
        #expect(try PostgresLocation(url: "postgres://miis@h1,h2/miis?port=6543") == onePort)
        let perHost = try PostgresLocation(url: "postgres://miis@/miis?host=h1,/run/postgresql&port=6543,")
        #expect(perHost.endpoints == [.tcp(host: "h1", port: 6543), .unixSocket(directory: "/run/postgresql", port: 5432)])
        // A socket directory cannot go in the authority: every host is then in the parameter.
        #expect(perHost.redacted == "postgres://miis@/miis?host=h1,%2Frun%2Fpostgresql&port=6543,5432")
        #expect(try PostgresLocation(url: perHost.redacted) == perHost)
        // An encoded comma belongs to the name, it does not split the list.
        let comma = try PostgresLocation(url: "postgres://miis@/miis?host=/tmp/a%2Cb")
        #expect(comma.endpoints == [.unixSocket(directory: "/tmp/a,b", port: 5432)])
    }

    @Test(arguments: PostgresLocation.TargetSessionAttributes.allCases)
    func targetSessionAttributes(_ value: PostgresLocation.TargetSessionAttributes) throws {
        let location = try PostgresLocation(url: "postgres://miis@h1,h2/d?target_session_attrs=\(value.rawValue)")
        #expect(location.targetSessionAttributes == value)
        #expect(try PostgresLocation(url: location.redacted) == location)
    }

    /// libpq's rules: which server state each value accepts (prefer-standby takes any server on its second pass).
    @Test func targetSessionAttributesAcceptance() {
        typealias T = PostgresLocation.TargetSessionAttributes
        let primary = (inRecovery: false, readOnly: false), standby = (inRecovery: true, readOnly: true)
        let readOnlyPrimary = (inRecovery: false, readOnly: true)
        func accepts(_ value: T, _ state: (inRecovery: Bool, readOnly: Bool), strict: Bool = true) -> Bool {
            value.accepts(inRecovery: state.inRecovery, readOnly: state.readOnly, strict: strict)
        }
        #expect(accepts(.any, primary) && accepts(.any, standby))
        #expect(accepts(.readWrite, primary) && !accepts(.readWrite, standby) && !accepts(.readWrite, readOnlyPrimary))
        #expect(!accepts(.readOnly, primary) && accepts(.readOnly, standby) && accepts(.readOnly, readOnlyPrimary))
        #expect(accepts(.primary, primary) && !accepts(.primary, standby) && accepts(.primary, readOnlyPrimary))
        #expect(!accepts(.standby, primary) && accepts(.standby, standby))
        #expect(!accepts(.preferStandby, primary) && accepts(.preferStandby, standby) && accepts(.preferStandby, primary, strict: false))
    }

    @Test func passwordInURLRefusedWithoutEchoingIt() throws {
        for url in ["postgres://miis:S3cr3t-pw@h/miis", "postgres://miis:S3cr3t-pw@h/miis?sslmode=require",
                    "postgres://miis@h/miis?password=S3cr3t-pw", "postgres://miis:S3cr3t-pw@h:99999/miis"] {
            let error = try #require(throws: DeploymentError.self) { try PostgresLocation(url: url) }
            #expect(error.kind == .database)
            #expect(!error.message.contains("S3cr3t"), "\(error.message)")
            #expect(error.message.contains("password") || error.message.contains("***"))
            let storeError = try #require(throws: DeploymentError.self) { try PostgresDeploymentStore(url: url, environment: [:]) }
            #expect(!storeError.message.contains("S3cr3t"))
        }
    }

    @Test func redactionOfArbitraryText() {
        #expect(PostgresLocation.redact("postgres://u:pw@h:5/d?sslmode=require") == "postgres://u:***@h:5/d?sslmode=require")
        #expect(PostgresLocation.redact("postgres://u@h/d?password=pw&sslmode=disable") == "postgres://u@h/d?password=***&sslmode=disable")
        #expect(PostgresLocation.redact("postgres://u@h/d") == "postgres://u@h/d")
        #expect(PostgresLocation.redact("/path/to/file") == "/path/to/file")
    }

    /// Passwords holding the URL's own delimiters, raw or percent-encoded, in the userinfo or in a
    /// `password=` parameter (whose name may be percent-encoded too): never shown, neither by
    /// `redact` nor in the parser's error messages, which quote the redacted URL.
    static let secretBearingURLs: [String] = [
        "postgres://u:S3cr/et@h/d", "postgres://u:S3cr?et@h/d", "postgres://u:S3cr@et@h/d", "postgres://u:S3cr#et@h/d",
        "postgres://u:S3cr/et?x@h:5432/d?sslmode=disable", "postgres://u:S3cr%2Fet%3F%40%23@h/d",
        "postgres://u:/S3cret@h/d", "postgres://u:@S3cret@h/d", "postgres://u:S3cret@@h/d",
        "postgres://u@h/d?password=S3cr/et", "postgres://u@h/d?password=S3cr?et", "postgres://u@h/d?password=S3cr@et",
        "postgres://u@h/d?password=S3cr#et", "postgres://u@h/d?password=S3cr&et", "postgres://u@h/d?password=S3cr&et=x&sslmode=disable",
        "postgres://u@h/d?password=S3cr%2Fet%3F%40%23", "postgres://u@h/d?pass%77ord=S3cret", "postgres://u@h/d?PASSWORD=S3cret",
        "postgres://u@h/d?sslmode=disable&%70assword=S3cret&connect_timeout=3",
        "postgresql://u:S3cr/et?password=S3cret#x@h/d?password=S3cr&et",
    ]

    @Test(arguments: secretBearingURLs)
    func redactionNeverShowsAPassword(_ url: String) {
        let redacted = PostgresLocation.redact(url)
        for secret in ["S3cr", "cret", "%2Fet"] {
            #expect(!redacted.contains(secret), "\(url) -> \(redacted)")
        }
        #expect(redacted.contains("***"), "\(url) -> \(redacted)")
        #expect(redacted.hasPrefix(url.hasPrefix("postgresql") ? "postgresql://u" : "postgres://u"))
        do {
            _ = try PostgresLocation(url: url)
            Issue.record("\(url) parsed")
        } catch {
            let message = (error as? DeploymentError)?.message ?? "\(error)"
            #expect(!message.contains("S3cr") && !message.contains("cret"), "\(message)")
        }
    }

    @Test func redactionKeepsWhatIsNotSecret() {
        #expect(PostgresLocation.redact("postgres://u@h/d?password=pw&sslmode=disable&application_name=a%26b") == "postgres://u@h/d?password=***&sslmode=disable&application_name=a%26b")
        #expect(PostgresLocation.redact("postgres://u:p/w@db.example:6543/d?sslmode=require") == "postgres://u:***@db.example:6543/d?sslmode=require")
        #expect(PostgresLocation.redact("postgres://u@h:5432/d?application_name=x") == "postgres://u@h:5432/d?application_name=x")
        // Over-redaction when in doubt: an '@' in a later parameter hides the host too.
        #expect(PostgresLocation.redact("postgres://h:5432/d?application_name=a@b") == "postgres://h:***@b")
    }

    @Test func redactedRoundTrips() throws {
        for url in ["postgres://miis@127.0.0.1:5432/miis?sslmode=verify-ca&sslrootcert=/etc/ssl/ca.pem",
                    "postgres://miis@db/miis?sslmode=disable", "postgres://miis@db:1234/miis"] {
            let location = try PostgresLocation(url: url)
            #expect(try PostgresLocation(url: location.redacted) == location)
        }
        #expect(try PostgresLocation(url: "postgres://miis@db:5432/miis").redacted == "postgres://miis@db/miis")
    }

    @Test func missingRootCertificateRefused() throws {
        let error = try #require(throws: DeploymentError.self) {
            try PostgresDeploymentStore(url: "postgres://miis@h/miis?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem", environment: [:])
        }
        #expect(error.kind == .database)
        #expect(error.message.contains("/nonexistent/ca.pem"))
    }
}
