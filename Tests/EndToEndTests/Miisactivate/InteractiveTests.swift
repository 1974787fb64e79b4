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
}
