import Deployment
import Foundation
import Testing

/// The service pack on the built binaries (issue 13): a deployment installed by an older release
/// (the debug binaries told to be release 1.1.0, schema 2, by `MIIS_TEST_SOFTWARE_VERSION`; the
/// new release is this build's, so a later schema step changes no text here), the
/// primary upgraded with `miisserver upgrade`, the un-updated standby refused with the reference's
/// `Exception: 0x80230443`, the standby upgraded, and a failover; on SQLite and PostgreSQL.
@Suite(.serialized) struct UpgradeTests {
    static let old = "1.1.0"
    static let new = SchemaCatalog.currentSoftwareVersion
    static let current = SchemaCatalog.current

    static let mismatch = "Exception: 0x80230443: schema mismatch: software version 1.1.0 needs database schema 2 but the database holds schema \(current). This happens when the primary was updated and this warm standby was not. Update this standby to the primary's version, then try again; install the primary's release on this server, then run miisserver upgrade on it"

    /// The dry run's text, with its step lines (one per schema step, as `--json` lists them).
    static func dryRunPlan(steps: [String]) -> String {
        (["Upgrade plan for 'sync1' (active at epoch 1):", "  database schema 2 -> \(current)"] + steps.map { "    " + $0 } + [
            "  software version 1.1.0 -> \(new), in server.json and the database",
            "Refused with Exception: 0x80230443 until upgraded to \(new): sync2 (1.1.0); run miisserver upgrade on each after installing this release.",
            "Dry run: nothing was changed.",
        ]).joined(separator: "\n") + "\n"
    }

    /// The refusal of a binary older than the schema: exit 23, the exception, "writes nothing".
    static func expectNewerSchemaRefusal(_ result: ToolRunner.Result, tool: String = "miisserver", _ what: String = "",
                                         sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 23, "\(what): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("\(tool): "), "\(what): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(": Exception: 0x80230443: schema mismatch: software version 1.1.0 needs database schema 2 but the database holds schema \(current). "),
                "\(what): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasSuffix("; this software writes nothing into a newer schema; install the primary's release on this server, then run miisserver upgrade on it\n"),
                "\(what): \(result.stderr)", sourceLocation: sourceLocation)
    }

    func schema(_ deployment: DeploymentFixture, from server: String = "sync1") throws -> Int? {
        (try deployment.status(from: server)["database"] as? [String: Any])?["schemaVersion"] as? Int
    }

    func recordedVersion(_ deployment: DeploymentFixture, _ server: String) throws -> String? {
        let data = try Data(contentsOf: URL(fileURLWithPath: deployment.installDirectory(server) + "/server.json"))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["softwareVersion"] as? String
    }

    /// The whole service pack on one deployment (SQLite or PostgreSQL).
    func applyServicePack(_ deployment: DeploymentFixture) throws {
        #expect(try schema(deployment) == 2)
        #expect(try recordedVersion(deployment, "sync1") == Self.old)

        // The plan, and nothing changes.
        let json = try deployment.miisserver("sync1", ["upgrade", "--dry-run", "--json"])
        let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.map { $0["schema"] as? Int } == Array(3...Self.current))
        #expect(steps.first?["release"] as? String == "1.2")
        #expect(steps.first?["summary"] as? String == "the deployment lease, activation times and liveness in the log, logged administrative changes")
        let plan = try deployment.miisserver("sync1", ["upgrade", "--dry-run"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout == Self.dryRunPlan(steps: steps.map { "schema \($0["schema"] ?? "") (release \($0["release"] ?? "")): \($0["summary"] ?? "")" }),
                "\(plan.stdout)")
        #expect(report["schemaVersion"] as? Int == 1)
        #expect(report["dryRun"] as? Bool == true)
        #expect(report["changed"] as? Bool == false)
        #expect(report["fromSchema"] as? Int == 2)
        #expect(report["toSchema"] as? Int == Self.current)
        #expect(report["previousSoftwareVersion"] as? String == Self.old)
        #expect(report["softwareVersion"] as? String == Self.new)
        #expect((report["outdatedServers"] as? [[String: Any]])?.map { $0["name"] as? String } == ["sync2"])
        #expect(try schema(deployment) == 2)
        #expect(try recordedVersion(deployment, "sync1") == Self.old)

        // A standby with the new binaries may not migrate before the primary: nothing changes.
        let early = try deployment.miisserver("sync2", ["upgrade"])
        #expect(early.status == 28)
        #expect(early.stderr == "miisserver: server 'sync2' is not the active server ('sync1' is, at epoch 1): only the active primary migrates the database schema (2 -> \(Self.current)); run miisserver upgrade on the active server sync1 first, then on this server\n", "\(early.stderr)")
        #expect(try schema(deployment) == 2)
        #expect(try recordedVersion(deployment, "sync2") == Self.old)

        // The primary: migrated in one go, re-registered, logged; a re-run says it did nothing.
        let upgrade = try deployment.miisserver("sync1", ["upgrade"])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        #expect(upgrade.stdout == """
            Upgraded 'sync1': database schema 2 -> \(Self.current), software version 1.1.0 -> \(Self.new).
            Refused with Exception: 0x80230443 until upgraded to \(Self.new): sync2 (1.1.0); run miisserver upgrade on each after installing this release.

            """, "\(upgrade.stdout)")
        #expect(try schema(deployment) == Self.current)
        #expect(try recordedVersion(deployment, "sync1") == Self.new)
        let again = try deployment.miisserver("sync1", ["upgrade"])
        #expect(again.status == 0)
        #expect(again.stdout.hasPrefix("'sync1' is already upgraded: software version \(Self.new), database schema \(Self.current); nothing was changed.\n"), "\(again.stdout)")
        let changes = try deployment.history(from: "sync1").filter { ($0["outcome"] as? String) == "changed" }.map { $0["detail"] as? String }
        #expect(changes == ["migrated the database schema 2 -> \(Self.current) (software version \(Self.new))",
                            "re-registered server 'sync1': version 1.1.0 -> \(Self.new)"])

        // The un-updated standby: the reference's exception from miisactivate and from check,
        // with its old binaries and with new binaries not yet upgraded; nothing changes.
        Self.expectNewerSchemaRefusal(try deployment.activate("sync2", release: Self.old), tool: "miisactivate")
        Self.expectNewerSchemaRefusal(try deployment.miisserver("sync2", ["check"], release: Self.old))
        let refused = try deployment.activate("sync2")
        #expect(refused.status == 23)
        #expect(refused.stderr == "miisactivate: \(Self.mismatch)\n", "\(refused.stderr)")
        let check = try deployment.miisserver("sync2", ["check"])
        #expect(check.status == 23)
        #expect(check.stderr == "miisserver: \(Self.mismatch)\n", "\(check.stderr)")
        #expect(try deployment.deploymentState() == (1, "sync1"))

        // The standby gets the service pack: re-registered, no schema change; then failover works.
        let standby = try deployment.miisserver("sync2", ["upgrade"])
        #expect(standby.status == 0, "\(standby.stderr)")
        #expect(standby.stdout == "Upgraded 'sync2': database schema \(Self.current) (unchanged), software version 1.1.0 -> \(Self.new).\n", "\(standby.stdout)")
        #expect(try recordedVersion(deployment, "sync2") == Self.new)
        #expect(try deployment.miisserver("sync1", ["lease", "1"]).status == 0)
        Thread.sleep(forTimeInterval: 1.5)
        let failover = try deployment.activate("sync2")
        #expect(failover.status == 0, "\(failover.stderr)")
        #expect(try deployment.deploymentState(from: "sync2") == (2, "sync2"))
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
    }

    /// After the upgrade, the old release's binary refuses every write with the exception and writes nothing.
    func oldBinaryWritesNothing(_ deployment: DeploymentFixture) throws {
        #expect(try deployment.miisserver("sync1", ["upgrade"]).status == 0)
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let before = try deployment.status(from: "sync1")
        let logBefore = try deployment.history(from: "sync1").count
        let writes: [(String, [String], String?)] = [
            ("sync1", ["heartbeat"], nil),
            ("sync1", ["secret", "set", "crm", "--password-file", deployment.passwordFile, "--allow-weak-kdf"], "s3cret\n"),
            ("sync1", ["lease", "5"], nil),
            ("sync1", ["password-sync", "--enable", "--target", "sync1"], nil),
            ("sync1", ["repair", "--admin-group", "root"], nil),
            ("sync1", ["unregister", "sync2"], nil),
            ("sync1", ["upgrade"], nil),
        ]
        for (server, arguments, stdin) in writes {
            Self.expectNewerSchemaRefusal(try deployment.miisserver(server, arguments, stdin: stdin, release: Self.old), "\(arguments)")
        }
        // Setting a new standby up with the old release: refused, nothing registered, no server.json.
        let joining = try deployment.miisserver("sync9", ["setup", "--name", "sync9", "--database", deployment.database, "--role", "standby",
                                                          "--account", DeploymentFixture.account, "--admin-group", "root"], release: Self.old)
        Self.expectNewerSchemaRefusal(joining, "setup")
        #expect(!FileManager.default.fileExists(atPath: deployment.installDirectory("sync9") + "/server.json"))
        let after = try deployment.status(from: "sync1")
        #expect(try deployment.history(from: "sync1").count == logBefore)
        func servers(_ status: [String: Any]) -> [String] {
            (status["servers"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "") \($0["softwareVersion"] ?? "") \($0["lastHeartbeat"] ?? "never")" }
        }
        #expect(servers(after) == servers(before))
        #expect((after["deployment"] as? [String: Any])?["leaseSeconds"] as? Double == 30)
        #expect(try deployment.miisserver("sync1", ["secret", "list"]).stdout.contains("crm") == false)
        #expect(try recordedVersion(deployment, "sync1") == Self.new)
    }

    @Test func servicePackOnSQLite() throws {
        try applyServicePack(try DeploymentFixture(release: Self.old))
    }

    @Test func servicePackOnPostgreSQL() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        try applyServicePack(try DeploymentFixture(database: database.url, release: Self.old, environment: database.environment))
    }

    @Test func oldBinaryWritesNothingIntoANewerSchemaOnSQLite() throws {
        try oldBinaryWritesNothing(try DeploymentFixture(release: Self.old))
    }

    @Test func oldBinaryWritesNothingIntoANewerSchemaOnPostgreSQL() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        try oldBinaryWritesNothing(try DeploymentFixture(database: database.url, release: Self.old, environment: database.environment))
    }

    /// The primary upgraded twice at once and a standby at the same moment: the schema is
    /// migrated exactly once; the other primary run finds it done; the standby either waits and
    /// re-registers or is refused cleanly (it may not migrate) and succeeds when run again.
    func concurrentUpgradesMigrateOnce(_ deployment: DeploymentFixture) throws {
        let jobs: [@Sendable () throws -> ToolRunner.Result] = [
            { try deployment.miisserver("sync1", ["upgrade"]) },
            { try deployment.miisserver("sync1", ["upgrade"]) },
            { try deployment.miisserver("sync2", ["upgrade"]) },
        ]
        let results = runConcurrently(jobs)
        #expect(results[0].status == 0, "\(results[0].stderr)")
        #expect(results[1].status == 0, "\(results[1].stderr)")
        #expect([0, 28].contains(results[2].status), "\(results[2].stderr)")
        if results[2].status == 28 {
            #expect(results[2].stderr.contains("only the active primary migrates the database schema (2 -> \(Self.current))"))
            #expect(try deployment.miisserver("sync2", ["upgrade"]).status == 0)
        }
        #expect(try schema(deployment) == Self.current)
        let log = try deployment.history(from: "sync1").compactMap { $0["detail"] as? String }
        #expect(log.filter { $0.hasPrefix("migrated the database schema") }.count == 1, "\(log)")
        #expect(log.filter { $0 == "re-registered server 'sync1': version 1.1.0 -> \(Self.new)" }.count == 1, "\(log)")
        #expect(log.filter { $0 == "re-registered server 'sync2': version 1.1.0 -> \(Self.new)" }.count == 1, "\(log)")
        #expect(try recordedVersion(deployment, "sync1") == Self.new)
        #expect(try recordedVersion(deployment, "sync2") == Self.new)
    }

    @Test func concurrentUpgradesMigrateOnceOnSQLite() throws {
        try concurrentUpgradesMigrateOnce(try DeploymentFixture(release: Self.old))
    }

    @Test func concurrentUpgradesMigrateOnceOnPostgreSQL() throws {
        guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
        try concurrentUpgradesMigrateOnce(try DeploymentFixture(database: database.url, release: Self.old, environment: database.environment))
    }

    /// Killed inside the migration's transaction, the upgrade changed nothing; killed after its
    /// commit, before server.json, a re-run finishes server.json and migrates nothing twice.
    @Test func aKilledUpgradeChangesNothingOrIsFinishedByARerun() throws {
        let deployment = try DeploymentFixture(release: Self.old)
        let arguments = ["upgrade", "--install-dir", deployment.installDirectory("sync1")]
        let inside = try CrashHarness.run("miisserver", arguments, faultPoint: "sqlite.before-commit")
        #expect(inside.killed)
        #expect(try schema(deployment) == 2)
        #expect(try recordedVersion(deployment, "sync1") == Self.old)
        let after = try CrashHarness.run("miisserver", arguments, faultPoint: "upgrade.after-commit")
        #expect(after.killed)
        #expect(try schema(deployment) == Self.current)
        #expect(try recordedVersion(deployment, "sync1") == Self.old)
        let rerun = try deployment.miisserver("sync1", ["upgrade"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.hasPrefix("Upgraded 'sync1': database schema \(Self.current) (unchanged), software version 1.1.0 -> \(Self.new).\n"), "\(rerun.stdout)")
        #expect(try recordedVersion(deployment, "sync1") == Self.new)
        let log = try deployment.history(from: "sync1").compactMap { $0["detail"] as? String }
        #expect(log.filter { $0.hasPrefix("migrated the database schema") }.count == 1, "\(log)")
    }

    /// A fenced old primary may not migrate (its epoch is not the deployment's); the server that
    /// took over does. Nothing changes on the refusal.
    @Test func aFencedPrimaryMayNotMigrate() throws {
        let deployment = try DeploymentFixture(release: Self.old)
        // A failover on release 1.1 (sync1 never sent a heartbeat: it is not alive).
        let failover = try deployment.activate("sync2", release: Self.old)
        #expect(failover.status == 0, "\(failover.stderr)")
        let fenced = try deployment.miisserver("sync1", ["upgrade"])
        #expect(fenced.status == 28)
        #expect(fenced.stderr == "miisserver: server 'sync1' is not the active server ('sync2' is, at epoch 2); it may not write on the deployment's behalf: only the active primary migrates the database schema (2 -> \(Self.current)); run miisserver upgrade on the active server sync2 first, then on this server\n", "\(fenced.stderr)")
        #expect(try schema(deployment, from: "sync2") == 2)
        #expect(try recordedVersion(deployment, "sync1") == Self.old)
        let upgrade = try deployment.miisserver("sync2", ["upgrade"])
        #expect(upgrade.status == 0, "\(upgrade.stderr)")
        #expect(try schema(deployment, from: "sync2") == Self.current)
        // The fenced server then re-registers (by design any registered server may), without a migration.
        #expect(try deployment.miisserver("sync1", ["upgrade"]).stdout.hasPrefix("Upgraded 'sync1': database schema \(Self.current) (unchanged)"))
    }
}
