import Foundation
import Testing

/// `make install PREFIX=DIR` (scripts/install.sh) into a temporary prefix, then each installed tool
/// as an administrator would meet it: `--help`, its man page, its bash completion.
@Suite(.serialized) struct InstallTests {
    static let repository = ToolRunner.repository

    static func install(into prefix: String) throws {
        let result = try ToolRunner.run("/bin/bash", [repository.appendingPathComponent("scripts/install.sh").path, prefix,
                                                      ToolRunner.productsDirectory.path])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func installedToolsHelpManAndCompletion() throws {
        let prefix = try TemporaryDirectory("miis-prefix")
        try Self.install(into: prefix.path)
        // miisactivate and miisserver are one multi-call binary: two names of one file in Bin/.
        var activate = stat(), server = stat()
        #expect(lstat(prefix.file("Bin/miisactivate"), &activate) == 0 && lstat(prefix.file("Bin/miisserver"), &server) == 0)
        #expect(activate.st_ino == server.st_ino && activate.st_mode & S_IFMT == S_IFREG)
        for tool in ["keytool", "miisactivate", "miisserver"] {
            let binary = prefix.file("Bin/\(tool)")
            let help = try ToolRunner.run(binary, ["--help"])
            #expect(help.status == 0, "\(tool): \(help.stderr)")
            #expect(help.stdout.contains(tool))

            let manPage = prefix.file("share/man/man1/\(tool).1")
            let man = try ToolRunner.run("/usr/bin/man", ["-l", manPage], environment: ["MANPAGER": "cat", "PAGER": "cat", "COLUMNS": "100"])
            #expect(man.status == 0, "\(tool): \(man.stderr)")
            #expect(man.stdout.uppercased().contains(tool.uppercased()))
            #expect(man.stdout.contains("EXIT STATUS") || man.stdout.contains("Exit"), "\(tool) man page lists exit codes")

            let completion = prefix.file("share/bash-completion/completions/\(tool)")
            let loaded = try ToolRunner.run("/bin/bash", ["-c", "source \"$0\" && complete -p \(tool)", completion])
            #expect(loaded.status == 0, "\(tool): \(loaded.stderr)")
            #expect(loaded.stdout.contains(tool))
            #expect(FileManager.default.fileExists(atPath: prefix.file("share/zsh/site-functions/_\(tool)")))
            #expect(FileManager.default.fileExists(atPath: prefix.file("share/fish/vendor_completions.d/\(tool).fish")))
        }
    }

    /// `make install DESTDIR=STAGE PREFIX=DIR` stages everything under STAGE/DIR and writes nothing to DIR.
    @Test func destdirStagesTheInstallation() throws {
        let stage = try TemporaryDirectory("miis-stage")
        let prefix = "/opt/miis-staged-\(UUID().uuidString)"
        let result = try ToolRunner.run("/bin/bash", [Self.repository.appendingPathComponent("scripts/install.sh").path, prefix,
                                                      ToolRunner.productsDirectory.path], environment: ["DESTDIR": stage.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: prefix))
        #expect(result.stdout.contains("MANPATH=\"\(prefix)/share/man:"), "\(result.stdout)")
        for file in ["Bin/keytool", "Bin/miisserver", "Bin/miisactivate", "share/man/man1/miisactivate.1", "share/doc/miis/README.md",
                     "share/bash-completion/completions/miisserver"] {
            #expect(FileManager.default.fileExists(atPath: stage.path + prefix + "/" + file), "\(file)")
        }
        let version = try ToolRunner.run(stage.path + prefix + "/Bin/keytool", ["--version"])
        #expect(version.status == 0, "\(version.stderr)")
    }

    /// Every subcommand `--help` lists is documented in the man page generated from the same parser.
    @Test(arguments: ["keytool", "miisserver"])
    func manPageMatchesHelp(tool: String) throws {
        let help = try ToolRunner.run(tool, ["--help"]).stdout
        let manPage = try String(contentsOf: Self.repository.appendingPathComponent("docs/man/\(tool).1"), encoding: .utf8)
        let subcommands = help.components(separatedBy: "SUBCOMMANDS:").last?
            .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            .filter { !$0.isEmpty && $0 != "See" && $0.allSatisfy { $0.isLetter || $0 == "-" } } ?? []
        #expect(!subcommands.isEmpty)
        for subcommand in subcommands {
            #expect(manPage.contains(subcommand), "\(tool).1 lacks \(subcommand)")
        }
    }

    /// The installed miisactivate finds its installation from its own Bin folder, without flags.
    @Test func installedMiisactivateFindsItsInstallation() throws {
        let deployment = try DeploymentFixture()
        try Self.install(into: deployment.installDirectory("sync2"))
        let result = try ToolRunner.run(deployment.installDirectory("sync2") + "/Bin/miisactivate",
                                        [deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf", "--dry-run"],
                                        stdin: DeploymentFixture.password + "\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Dry run"))
    }
}
