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
    /// The subcommands listed in `tool --help`.
    static func subcommands(of tool: String) throws -> [String] {
        let help = try ToolRunner.run(tool, ["--help"])
        guard let section = help.stdout.range(of: "SUBCOMMANDS:") else { return [] }
        return help.stdout[section.upperBound...].split(separator: "\n").compactMap { line in
            let words = line.split(separator: " ")
            guard line.hasPrefix("  "), let first = words.first, first.allSatisfy({ $0.isLetter || $0 == "-" }) else { return nil }
            return String(first)
        }.filter { $0 != "help" }
    }

    @Test(arguments: ["keytool", "miisserver"])
    func everyCommandTakesVerbose(tool: String) throws {
        let commands = try Self.subcommands(of: tool)
        #expect(commands.count >= 8, "\(commands)")
        for command in commands {
            let help = try ToolRunner.run(tool, [command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("--verbose"), "\(tool) \(command) has no --verbose")
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
        #expect(create.stderr.contains("debug keytool : keytool create"), "\(create.stderr)")
        let quiet = try ToolRunner.run("keytool", ["inspect", file])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let passwd = try ToolRunner.run("keytool", ["passwd", file, "--account", "CORP\\svc", "--password-file", passwordFile,
                                                    "--new-password-file", passwordFile, "--keep-kdf", "--allow-weak-kdf", "-v"])
        #expect(passwd.status == 0, "\(passwd.stderr)")
        #expect(passwd.stderr.contains("opening \(file) with the current credentials"), "\(passwd.stderr)")
        #expect(!passwd.allOutput.contains("Verbose-Passw0rd"))
    }
}
