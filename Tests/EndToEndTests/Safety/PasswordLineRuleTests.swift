import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One rule for password files and standard input in all three tools (docs/key-file-format.md,
/// section 5.1): the whole input less one final line ending is the password, and input of more
/// than one line is refused (exit 16), never cut at the first line nor taken with its newline.
@Suite(.serialized) struct PasswordLineRuleTests {
    static let refusal = "the password holds a line break (CR or LF); a password is one line, and input of more than one line is refused rather than cut"

    /// `text` with every run of white space (help wraps its lines) turned into one space.
    static func words(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }

    /// Inputs that hold the right password followed by more than one line ending or a second line.
    static func ambiguousInputs(_ password: String) -> [String] {
        ["\(password)\n\n", "\(password)\nsecond line\n", "\(password)\r"]
    }

    @Test func keytoolRefusesMoreThanOneLineFromAFileAndFromStandardInput() throws {
        let fixture = try KeytoolFixture()
        let (path, _, _) = try fixture.writeFile("a.key")
        let passwordFile = fixture.directory.file("ambiguous.txt")
        for input in Self.ambiguousInputs(KeytoolFixture.password) {
            try KeytoolFixture.write(Array(input.utf8), to: passwordFile)
            let fromFile = try keytool(["list", path, "--account", KeytoolFixture.account, "--password-file", passwordFile, "--allow-weak-kdf"])
            #expect(fromFile.status == 16, "\(input.debugDescription): \(fromFile.stderr)")
            #expect(fromFile.stderr == "keytool: \(Self.refusal)\n", "\(input.debugDescription)")
            let fromStandardInput = try keytool(["list", path, "--account", KeytoolFixture.account, "--password-stdin", "--allow-weak-kdf"], stdin: input)
            #expect(fromStandardInput.status == 16, "\(input.debugDescription): \(fromStandardInput.stderr)")
            #expect(fromStandardInput.stderr == "keytool: \(Self.refusal)\n", "\(input.debugDescription)")
        }
        // One final LF or CR LF is removed, and no final line ending is needed.
        for input in ["\(KeytoolFixture.password)\n", "\(KeytoolFixture.password)\r\n", KeytoolFixture.password] {
            let listed = try keytool(["list", path, "--account", KeytoolFixture.account, "--password-stdin", "--allow-weak-kdf"], stdin: input)
            #expect(listed.status == 0, "\(input.debugDescription): \(listed.stderr)")
        }
    }

    @Test func keytoolHelpStatesTheRule() throws {
        let help = try keytool(["list", "--help"])
        #expect(Self.words(help.stdout).contains("a final newline is removed; more than one line is refused (exit 16)"), "\(help.stdout)")
    }

    @Test func miisserverRefusesMoreThanOneLineFromAFileAndFromStandardInput() throws {
        let deployment = try DeploymentFixture()
        let passwordFile = deployment.root.file("ambiguous")
        for input in Self.ambiguousInputs(DeploymentFixture.password) {
            try KeytoolFixture.write(Array(input.utf8), to: passwordFile)
            let fromFile = try deployment.miisserver("sync1", ["backup", "-o", deployment.root.file("b1.bin"), "--password-file", passwordFile] + DeploymentFixture.weakKDF)
            #expect(fromFile.status == 16, "\(input.debugDescription): \(fromFile.stderr)")
            #expect(fromFile.stderr == "miisserver: \(Self.refusal)\n", "\(input.debugDescription)")
            let fromStandardInput = try deployment.miisserver("sync1", ["backup", "-o", deployment.root.file("b2.bin"), "--password-stdin"] + DeploymentFixture.weakKDF,
                                                              stdin: input)
            #expect(fromStandardInput.status == 16, "\(input.debugDescription): \(fromStandardInput.stderr)")
            #expect(fromStandardInput.stderr == "miisserver: \(Self.refusal)\n", "\(input.debugDescription)")
        }
        #expect(!FileManager.default.fileExists(atPath: deployment.root.file("b1.bin")))
        #expect(!FileManager.default.fileExists(atPath: deployment.root.file("b2.bin")))
        let written = try deployment.miisserver("sync1", ["backup", "-o", deployment.root.file("b3.bin"), "--password-stdin"] + DeploymentFixture.weakKDF,
                                                stdin: DeploymentFixture.password + "\r\n")
        #expect(written.status == 0, "\(written.stderr)")
    }

    @Test func miisserverHelpStatesTheRule() throws {
        let help = try ToolRunner.run("miisserver", ["backup", "--help"])
        #expect(Self.words(help.stdout).contains("a final newline is removed; more than one line is refused (exit 16)"), "\(help.stdout)")
    }

    @Test func miisactivateRefusesMoreThanOneLineFromStandardInputAndFromAFile() throws {
        let deployment = try DeploymentFixture()
        let passwordFile = deployment.root.file("ambiguous")
        for input in Self.ambiguousInputs(DeploymentFixture.password) {
            // `*` with standard input that is not a terminal.
            let fromStandardInput = try ToolRunner.run(
                "miisactivate", [deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf", "--install-dir", deployment.installDirectory("sync2")],
                stdin: input, environment: deployment.environment)
            #expect(fromStandardInput.status == 16, "\(input.debugDescription): \(fromStandardInput.stderr)")
            #expect(fromStandardInput.stderr.contains("miisactivate: \(Self.refusal)\n"), "\(input.debugDescription): \(fromStandardInput.stderr)")
            try KeytoolFixture.write(Array(input.utf8), to: passwordFile)
            let fromFile = try ToolRunner.run(
                "miisactivate", [deployment.backup, DeploymentFixture.account, "/q", "--password-file", passwordFile, "--allow-weak-kdf",
                                 "--install-dir", deployment.installDirectory("sync2")],
                environment: deployment.environment)
            #expect(fromFile.status == 16, "\(input.debugDescription): \(fromFile.stderr)")
            #expect(fromFile.stderr.contains("miisactivate: \(Self.refusal)\n"), "\(input.debugDescription): \(fromFile.stderr)")
        }
        let state = try deployment.deploymentState()
        #expect(state.epoch == 1 && state.active == "sync1")
    }

    @Test func miisactivateHelpStatesTheRule() throws {
        let help = try ToolRunner.run("miisactivate", ["/?"])
        #expect(Self.words(help.stdout).contains("a final newline is removed; more than one line is refused (exit 16)"), "\(help.stdout)")
    }
}
