import Foundation
import Testing

/// A mistyped option or command is named with its nearest spelling, in one line, exit 64, by all
/// three tools (issue 18).
@Suite struct MisspellingTests {
    @Test(arguments: [
        ("keytool", ["list", "--verbse"], "keytool: unknown option '--verbse'; did you mean '--verbose'?\n"),
        ("keytool", ["list", "k.key", "--jsno"], "keytool: unknown option '--jsno'; did you mean '--json'?\n"),
        ("keytool", ["lsit", "k.key"], "keytool: unknown command 'lsit'; did you mean 'list'?\n"),
        ("miisserver", ["status", "--jsn"], "miisserver: unknown option '--jsn'; did you mean '--json'?\n"),
        ("miisserver", ["satus"], "miisserver: unknown command 'satus'; did you mean 'status'?\n"),
        ("miisserver", ["heartbeat", "--verbse"], "miisserver: unknown option '--verbse'; did you mean '--verbose'?\n"),
        ("miisactivate", ["--dry-rn", "k.bin"], "miisactivate: unknown option '--dry-rn'; did you mean '--dry-run'?\n"),
        ("miisactivate", ["--verbse"], "miisactivate: unknown option '--verbse'; did you mean '--verbose'?\n"),
        ("miisactivate", ["--frobnicate"], "miisactivate: unknown option '--frobnicate'; see miisactivate /?\n"),
    ])
    func suggestsTheNearestSpelling(tool: String, arguments: [String], expected: String) throws {
        let result = try ToolRunner.run(tool, arguments)
        #expect(result.status == 64)
        #expect(result.stderr == expected)
        #expect(result.stdout.isEmpty)
    }
}

/// `--verbose` on every command of every tool, logging its steps to standard error (issue 18).
@Suite struct VerboseEverywhereTests {
    /// Every leaf command under `path` (`["miisserver", "secret"]`), from the SUBCOMMANDS section
    /// of each help text.
    static func leafCommands(_ path: [String]) throws -> [[String]] {
        let help = try ToolRunner.run(path[0], Array(path.dropFirst()) + ["--help"])
        guard let section = help.stdout.range(of: "SUBCOMMANDS:\n") else { return [path] }
        let names = help.stdout[section.upperBound...].split(separator: "\n").compactMap { line in
            line.firstMatch(of: /^  ([a-z][a-z-]*)(?:\s{2,}|$)/).map { String($0.output.1) }
        }.filter { $0 != "help" }
        return try names.flatMap { try leafCommands(path + [$0]) }
    }

    @Test(arguments: ["keytool", "miisserver"])
    func everyCommandTakesVerbose(tool: String) throws {
        let commands = try Self.leafCommands([tool])
        #expect(commands.count >= 8, "\(commands)")
        for command in commands {
            let help = try ToolRunner.run(tool, Array(command.dropFirst()) + ["--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("--verbose"), "\(command) has no --verbose")
        }
    }

    @Test func keytoolLogsItsSteps() throws {
        let directory = try TemporaryDirectory("verbose")
        let file = directory.file("k.key"), passwordFile = directory.file("pw")
        try "Verbose-Passw0rd\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        let create = try ToolRunner.run("keytool", ["create", "-o", file, "--account", "CORP\\svc", "--password-file", passwordFile,
                                                    "--scrypt-log-n", "10", "--allow-weak-kdf", "--verbose"])
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stderr.contains(" debug keytool:") && create.stderr.contains("keytool create"), "\(create.stderr)")
        let quiet = try ToolRunner.run("keytool", ["inspect", file])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let passwd = try ToolRunner.run("keytool", ["passwd", file, "--account", "CORP\\svc", "--password-file", passwordFile,
                                                    "--new-password-file", passwordFile, "--keep-kdf", "--allow-weak-kdf", "-v"])
        #expect(passwd.status == 0, "\(passwd.stderr)")
        #expect(passwd.stderr.contains("opening \(file) with the current credentials"), "\(passwd.stderr)")
        #expect(!passwd.allOutput.contains("Verbose-Passw0rd"))
    }
}

/// `--json` on the commands that report what they wrote: setup, backup, keytool create and passwd
/// (issue 18), each a versioned document on stdout.
@Suite struct JSONEverywhereTests {
    static func document(_ result: ToolRunner.Result) throws -> [String: Any] {
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
    }

    @Test func setupAndBackupReportInJSON() throws {
        let deployment = try DeploymentFixture()
        let setup = try Self.document(deployment.miisserver("sync3", ["setup", "--name", "sync3", "--database", deployment.database, "--role", "standby",
                                                                      "--account", DeploymentFixture.account, "--admin-group", "root", "--json"]))
        #expect(setup["schemaVersion"] as? Int == 1 && setup["server"] as? String == "sync3" && setup["role"] as? String == "standby")
        #expect(setup["installDirectory"] as? String == deployment.installDirectory("sync3") && setup["keySetID"] == nil)
        let output = deployment.root.file("b.bin")
        let backup = try Self.document(deployment.miisserver("sync1", ["backup", "-o", output, "--password-file", deployment.passwordFile, "--json"]
                                                             + DeploymentFixture.weakKDF))
        #expect(backup["schemaVersion"] as? Int == 1 && backup["path"] as? String == output && backup["verified"] as? Bool == true)
        let keySetID = try #require(backup["keySetID"] as? String)
        #expect(keySetID == keySetID.lowercased() && backup["keyCount"] as? Int ?? 0 >= 1)
    }

    @Test func administrativeCommandsReportInJSON() throws {
        let deployment = try DeploymentFixture(standbys: ["sync2", "sync3"])
        let sync = try Self.document(deployment.miisserver("sync1", ["password-sync", "--enable", "--target", "SYNC2", "--json"]))
        #expect(sync["schemaVersion"] as? Int == 1 && sync["enabled"] as? Bool == true && sync["target"] as? String == "sync2")
        let secret = try Self.document(deployment.miisserver("sync1", ["secret", "set", "crm/bind", "--password-file", deployment.passwordFile,
                                                                       "--allow-weak-kdf", "--json"], stdin: "s3cret-value\n"))
        #expect(secret["name"] as? String == "crm/bind" && secret["keyID"] as? Int == 1)
        let retired = try Self.document(deployment.miisserver("sync1", ["unregister", "sync3", "--json"]))
        #expect(retired["unregistered"] as? String == "sync3" && (retired["warnings"] as? [String])?.isEmpty == true)
        let repair = try Self.document(deployment.miisserver("sync2", ["repair", "--admin-group", "root", "--json"]))
        #expect(repair["server"] as? String == "sync2" && repair["adminGroup"] as? String == "root" && repair["database"] as? String == deployment.database)
        #expect(!secret.description.contains("s3cret-value"))
    }

    @Test func keytoolCreateAndPasswdReportInJSON() throws {
        let directory = try TemporaryDirectory("json")
        let file = directory.file("k.key"), passwordFile = directory.file("pw")
        try "Json-Passw0rd\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        chmod(passwordFile, 0o600)
        let create = try Self.document(ToolRunner.run("keytool", ["create", "-o", file, "--account", "CORP\\svc", "--password-file", passwordFile,
                                                                  "--keys", "2", "--scrypt-log-n", "10", "--allow-weak-kdf", "--json"]))
        #expect(create["operation"] as? String == "created" && create["keyCount"] as? Int == 2 && create["account"] as? String == "corp\\svc")
        #expect((create["kdf"] as? [String: Any])?["algorithm"] as? String == "scrypt")
        let passwd = try Self.document(ToolRunner.run("keytool", ["passwd", file, "--account", "CORP\\svc", "--password-file", passwordFile,
                                                                  "--new-password-file", passwordFile, "--kdf", "pbkdf2", "--pbkdf2-iterations", "1000",
                                                                  "--allow-weak-kdf", "--json"]))
        #expect(passwd["operation"] as? String == "re-protected" && passwd["fingerprint"] as? String == create["fingerprint"] as? String)
        #expect((passwd["kdf"] as? [String: Any])?["algorithm"] as? String == "pbkdf2-hmac-sha256")
    }
}
