import Testing
@testable import MiisactivateCommand

@Suite struct ActivateCommandLineTests {
    @Test func referenceExample() throws {
        let line = try ActivateCommandLine(parsing: ["miis_keys.bin", "FIMSyncAdmin", "*"])
        #expect(line.fileName == "miis_keys.bin")
        #expect(line.userName == "FIMSyncAdmin")
        #expect(line.password == .prompt)
        #expect(!line.quiet)
    }

    @Test(arguments: ["/q", "/Q", "-q", "--quiet"])
    func quietSwitches(flag: String) throws {
        let line = try ActivateCommandLine(parsing: ["keys.bin", "CORP\\sync", "*", flag])
        #expect(line.quiet)
        #expect(line.fileName == "keys.bin")
    }

    @Test(arguments: ["/?", "-h", "--help", "/HELP"])
    func helpSwitches(flag: String) throws {
        #expect(try ActivateCommandLine(parsing: [flag]).help)
    }

    @Test func literalPasswordAndOrder() throws {
        let line = try ActivateCommandLine(parsing: ["/q", "keys.bin", "\\sync", "secret"])
        #expect(line.password == .literal("secret"))
        #expect(line.userName == "\\sync")
    }

    @Test func doubleDashEndsOptions() throws {
        let line = try ActivateCommandLine(parsing: ["--", "/q"])
        #expect(line.fileName == "/q")
        #expect(!line.quiet)
    }

    @Test func absolutePathsAreFiles() throws {
        #expect(try ActivateCommandLine(parsing: ["/var/backups/miis_keys.bin"]).fileName == "/var/backups/miis_keys.bin")
    }

    @Test func linuxOptions() throws {
        let line = try ActivateCommandLine(parsing: [
            "--install-dir", "/opt/miis", "--dry-run", "--force", "--reason=primary host burned", "--json",
            "--lease", "45", "--password-file", "/root/pw", "k.bin", "sync",
        ])
        #expect(line.installDirectory == "/opt/miis")
        #expect(line.dryRun && line.force && line.json)
        #expect(line.reason == "primary host burned")
        #expect(line.lease == 45)
        #expect(line.password == .file("/root/pw"))
    }

    @Test(arguments: [
        ["--force"],                             // force without reason
        ["--reason", "x"],                       // reason without force
        ["a", "b", "c", "d"],                    // too many positionals
        ["--bogus"],                             // unknown option
        ["/x"],                                  // unknown switch
        ["--install-dir"],                       // missing value
        ["--lease", "-3"],                       // bad lease
        ["--password-file", "f", "k", "u", "p"], // two password sources
    ])
    func usageErrors(arguments: [String]) {
        #expect(throws: ActivateCommandLine.UsageError.self) { try ActivateCommandLine(parsing: arguments) }
    }
}
