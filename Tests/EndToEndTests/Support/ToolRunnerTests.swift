import Foundation
import Testing

/// The harness itself: running a tool leaves no descriptor open in the test process, which runs
/// thousands of them (the partition chaos alone runs `miisserver check` all through its rounds).
@Suite struct ToolRunnerTests {
    static func openDescriptors() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).count
    }

    @Test func runningAToolLeavesNoDescriptorOpen() throws {
        _ = try ToolRunner.run("keytool", ["--version"])
        let before = Self.openDescriptors()
        for _ in 0..<40 { _ = try ToolRunner.run("keytool", ["--version"], stdin: "x") }
        let after = Self.openDescriptors()
        // Other suites may open a few meanwhile; one per run would be 40.
        #expect(after - before < 10, "\(after - before) descriptors more after 40 runs")
    }
}
