import Foundation
import Testing

/// Without `/q`, miisactivate asks on the terminal for what is missing and for confirmation.
/// These run it on a real pseudo-terminal (Support/pty_dialog.py) and answer like a person.
@Suite(.serialized) struct MiisactivateInteractiveTests {
    static let dialog = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Support/pty_dialog.py").path

    func converse(_ answers: [(prompt: String, answer: String)], _ arguments: [String]) throws -> ToolRunner.Result {
        let script = answers.flatMap { [$0.prompt, $0.answer] }
        return try ToolRunner.run("/usr/bin/python3", [Self.dialog, "60"] + script + ["--", ToolRunner.path(of: "miisactivate")] + arguments)
    }

    @Test func asksForEverythingMissingThenConfirms() throws {
        let deployment = try DeploymentFixture()
        let result = try converse([
            ("Key file", deployment.backup),
            ("Service account", DeploymentFixture.account),
            ("Password:", DeploymentFixture.password),
            ("Activate sync2 now?", "y"),
        ], ["--install-dir", deployment.installDirectory("sync2"), "--allow-weak-kdf"])
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("Activated sync2"))
        // Echo was off: the password never appeared on the terminal.
        #expect(!result.stdout.contains(DeploymentFixture.password))
        #expect(try deployment.deploymentState().epoch == 2)
    }

    @Test func declinedConfirmationChangesNothing() throws {
        let deployment = try DeploymentFixture()
        let result = try converse([
            ("Password:", DeploymentFixture.password),
            ("Activate sync2 now?", "n"),
        ], [deployment.backup, DeploymentFixture.account, "*", "--install-dir", deployment.installDirectory("sync2"), "--allow-weak-kdf"])
        #expect(result.status == 32, "\(result.stdout)")
        #expect(result.stdout.contains("cancelled"))
        #expect(try deployment.deploymentState().epoch == 1)
    }

    /// ssh-keygen style: a file that cannot be used is said right after its name is typed, before
    /// anyone types the service account's password.
    @Test func typedKeyFileIsCheckedBeforeThePasswordIsAsked() throws {
        let deployment = try DeploymentFixture()
        let missing = deployment.root.file("no-such-file.bin")
        let result = try converse([("Key file", missing)],
                                  ["--install-dir", deployment.installDirectory("sync2"), "--allow-weak-kdf"])
        #expect(result.status == 15, "\(result.stdout)")
        #expect(result.stdout.contains("miisactivate: \(missing): cannot open: No such file or directory"), "\(result.stdout)")
        #expect(!result.stdout.contains("Service account"), "\(result.stdout)")
        #expect(!result.stdout.contains("Password"), "\(result.stdout)")
        let damaged = deployment.root.file("damaged.bin")
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: deployment.backup)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        chmod(damaged, 0o600)
        let corrupted = try converse([("Password:", DeploymentFixture.password)],
                                     [damaged, DeploymentFixture.account, "*", "--install-dir", deployment.installDirectory("sync2"), "--allow-weak-kdf"])
        #expect(corrupted.status == 10, "\(corrupted.stdout)")
        #expect(corrupted.stdout.contains("whole-file SHA-256 checksum does not match"))
        #expect(!corrupted.stdout.contains("Password"), "\(corrupted.stdout)")
    }

    @Test func typedPathWithAControlCharacterIsRefused() throws {
        let deployment = try DeploymentFixture()
        for (typed, codePoint) in [(deployment.backup + "\u{1B}[2K", "U+001B"), (deployment.backup + "\u{202E}nib", "U+202E"),
                                   (deployment.backup + "\u{85}", "U+0085")] {
            let result = try converse([("Key file", typed)],
                                      ["--install-dir", deployment.installDirectory("sync2"), "--allow-weak-kdf"])
            #expect(result.status == 16, "\(result.stdout)")
            #expect(result.stdout.contains("miisactivate: the typed file name contains the control character \(codePoint); type the path again without it"),
                    "\(result.stdout)")
            #expect(!result.stdout.contains("Service account"))
        }
        #expect(try deployment.deploymentState().epoch == 1)
    }
}
