import Foundation
import Testing

/// docs/postgresql.md's switch to the least-privilege runtime role, done with `miisserver repair
/// --database` instead of editing server.json, then the runtime work and `unregister` through it.
@Suite(.serialized) struct PostgresMembershipTests {
    /// Runs `sql` as the cluster's superuser in the database of `url`.
    static func admin(_ sql: [String], database url: String, environment: [String: String]) throws {
        guard let admin = ProcessInfo.processInfo.environment["MIIS_TEST_POSTGRES_ADMIN_URL"],
              let slash = admin.lastIndex(of: "/"), let name = url.split(separator: "/").last else { return }
        let target = String(admin[..<slash]) + "/" + name
        let result = try ToolRunner.run("/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", target] + sql.flatMap { ["-c", $0] },
                                        environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
    }

    /// The runtime role of docs/postgresql.md (same GRANTs, a unique name), with the test password.
    static func runtimeURL(for database: PostgresDeploymentTests.Database) throws -> String? {
        guard let password = database.environment["PGPASSWORD"], database.url.hasPrefix("postgres://"),
              let at = database.url.firstIndex(of: "@") else { return nil }
        let role = "miis_rt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        try admin(["CREATE ROLE \(role) LOGIN PASSWORD '\(password)'",
                   "GRANT CONNECT ON DATABASE \(database.url.split(separator: "/").last ?? "") TO \(role)",
                   "GRANT USAGE ON SCHEMA public TO \(role)",
                   "GRANT SELECT ON meta, key_check_values, key_set_history TO \(role)",
                   "GRANT SELECT, INSERT, UPDATE ON servers, secrets TO \(role)",
                   "GRANT DELETE ON servers TO \(role)",
                   "GRANT SELECT, UPDATE ON deployment TO \(role)",
                   "GRANT SELECT, INSERT ON activation_log TO \(role)"], database: database.url, environment: database.environment)
        return "postgres://\(role)" + database.url[at...]
    }

    @Test func repairSwitchesToTheRuntimeRoleThenUnregister() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        let deployment = try DeploymentFixture(standbys: ["sync2", "sync3"], database: database.url, environment: database.environment)
        let runtime = try #require(try Self.runtimeURL(for: database))
        #expect(runtime.hasPrefix("postgres://miis_rt_") && runtime.hasSuffix(String(database.url.split(separator: "@").last ?? "")))

        for server in ["sync1", "sync2"] {
            let repair = try deployment.miisserver(server, ["repair", "--database", runtime])
            #expect(repair.status == 0, "\(server): \(repair.stderr)")
            #expect(try MembershipTests.configuredDatabase(deployment, server) == runtime)
        }
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        #expect(try deployment.miisserver("sync1", ["check"]).status == 0)
        let status = try deployment.miisserver("sync2", ["status"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("miis_rt_"))

        let retired = try deployment.miisserver("sync2", ["unregister", "sync3"])
        #expect(retired.status == 0, "\(retired.stderr)")
        let log = try deployment.history(from: "sync1")
        #expect(log.contains { ($0["detail"] as? String)?.contains("unregistered server 'sync3'") == true })
        #expect(try deployment.miisserver("sync2", ["unregister", "sync1"]).status == 30)
    }

    /// The case rule of server names holds on PostgreSQL too (StoreRules, both stores).
    @Test func serverNamesMatchWithoutRegardToCase() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        let deployment = try DeploymentFixture(standbys: ["sync2"], database: database.url, environment: database.environment)
        let twin = try deployment.miisserver("sync3", ["setup", "--name", "SYNC2", "--database", database.url, "--role", "standby",
                                                       "--account", DeploymentFixture.account, "--admin-group", "root"])
        #expect(twin.status == 30, "\(twin.stderr)")
        #expect(twin.stderr.contains("differs from the registered server 'sync2' only in letter case"), "\(twin.stderr)")
        let sync = try deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "Sync2"])
        #expect(sync.stdout == "Password synchronization enabled, target sync2.\n", "\(sync.stderr)")
        let unknown = try deployment.miisserver("sync1", ["unregister", "sync9"])
        #expect(unknown.status == 22)
        #expect(unknown.stderr.contains("(registered: sync1, sync2)"), "\(unknown.stderr)")
        #expect(try deployment.miisserver("sync1", ["unregister", "SYNC2"]).status == 0)
    }

    @Test func repairRefusesAnotherDeploymentsDatabase() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase(), let other = try PostgresDeploymentTests.freshDatabase() else { return }
        let deployment = try DeploymentFixture(database: database.url, environment: database.environment)
        _ = try DeploymentFixture(database: other.url, environment: other.environment)
        for server in ["sync1", "sync2"] {
            let repair = try deployment.miisserver(server, ["repair", "--database", other.url])
            #expect(repair.status == 29, "\(server): \(repair.stderr)")
            #expect(repair.stderr.contains("is not the database of this deployment"), "\(repair.stderr)")
            #expect(try MembershipTests.configuredDatabase(deployment, server) == database.url)
        }
        let password = try deployment.miisserver("sync2", ["repair", "--database", other.url.replacingOccurrences(of: "@", with: ":pw@")])
        #expect(password.status != 0)
        #expect(try MembershipTests.configuredDatabase(deployment, "sync2") == database.url)
    }
}
