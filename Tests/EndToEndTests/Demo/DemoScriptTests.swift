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
    }
}
