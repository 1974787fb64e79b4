import Foundation
import Testing

/// The README's main command (`make demo` runs scripts/demo.sh on release binaries) must keep
/// working: run the same script on the binaries this test run built.
@Suite struct DemoScriptTests {
    @Test func demoDeploymentActivatesTheStandby() throws {
        let directory = try TemporaryDirectory("miis-demo")
        let script = ToolRunner.repository.appendingPathComponent("scripts/demo.sh").path
        let result = try ToolRunner.run("/bin/bash", [script, directory.path],
                                        environment: ["PRODUCTS": ToolRunner.productsDirectory.path], timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Activated sync2 as the primary server."))
        #expect(result.stdout.contains("miisactivate exited with 26"))
        #expect(result.stdout.contains("exited with 28 (fenced)"))
        #expect(result.stdout.contains("activation succeeded"))
        #expect(!result.allOutput.contains("Corr3ct horse"))
        // Not a terminal: no colour codes. Each echoed command is quoted as it would be typed.
        #expect(!result.stdout.contains("\u{1B}"))
        #expect(result.stdout.contains("--account 'CORP\\svc-sync' --admin-group miis-demo-admins"))
        #expect(result.stdout.contains("'CORP\\svc-sync' '*' /q\n"))
        let echoed = result.stdout.split(separator: "\n").filter { $0.hasPrefix("$ ") }.map { String($0.dropFirst(2)) }
        #expect(echoed.count >= 10)
        for line in echoed {
            let words = try ShellWords.parse(line)
            #expect(!words.isEmpty && !words.contains { $0.contains("'") }, "\(line)")
        }
    }

    /// Bold step headers on a terminal only, and not with NO_COLOR (https://no-color.org). The
    /// script is stopped right after its first header (no binaries at PRODUCTS): the header is
    /// what is tested.
    @Test(arguments: [(false, true), (true, true), (true, false)])
    func coloursOnlyOnATerminal(terminal: Bool, colours: Bool) throws {
        let directory = try TemporaryDirectory("miis-demo-colour")
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/demo.sh").path
        let dialog = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Support/pty_dialog.py").path
        var environment = ["PRODUCTS": directory.file("no-products")]
        if !colours { environment["NO_COLOR"] = "1" }
        let command = terminal ? ["/usr/bin/python3", dialog, "60", "--", "/bin/bash", script, directory.path] : ["/bin/bash", script, directory.path]
        let result = try ToolRunner.run(command[0], Array(command.dropFirst()), environment: environment)
        #expect(result.status != 0)
        #expect(result.stdout.contains("== Set up the primary"), "\(result.stdout)")
        #expect(result.stdout.contains("\u{1B}[1m== Set up the primary") == (terminal && colours), "\(result.stdout)")
        #expect(result.stdout.contains("\u{1B}") == (terminal && colours))
    }
}
