import Testing

/// `--verbose` logs through swift-log to standard error, step by step, and never a secret.
@Suite struct VerboseLoggingTests {
    @Test func miisactivateLogsEveryCheck() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.activate("sync2", extra: ["--verbose", "--dry-run"])
        #expect(result.status == 0, "\(result.stderr)")
        for check in 1...6 {
            #expect(result.stderr.contains("check \(check)/6"), "check \(check) not logged")
        }
        #expect(result.stdout.contains("Dry run"))
        #expect(!result.allOutput.contains(DeploymentFixture.password))
    }

    @Test func miisserverLogsItsDatabase() throws {
        let deployment = try DeploymentFixture()
        let result = try deployment.miisserver("sync2", ["status", "--verbose"])
        #expect(result.status == 0)
        #expect(result.stderr.contains("opening the sqlite deployment database of sync2"))
        let quiet = try deployment.miisserver("sync2", ["status"])
        #expect(!quiet.stderr.contains("opening"))
    }
}
