import Foundation
import Testing

/// `name:stop` fault points (FaultInjection) freeze the tool at the exact point, so a test can act
/// before the next step runs. The step after the point must not have run by the time the tool
/// shows as stopped: before the fix the tool sent SIGSTOP to its process, which the kernel hands
/// to one thread of its choosing, while the thread at the point ran on into its next system call
/// (a COMMIT went out before the partition test cut the network).
@Suite("Fault points: stop")
struct FaultPointStopTests {
    @Test func theStepAfterAStopPointHasNotRunWhenTheToolShowsStopped() throws {
        let deployment = try DeploymentFixture()
        let backups = deployment.root.file("stop-backups")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        // Several rounds: the old race lost most rounds, not every one.
        for round in 1...5 {
            let output = backups + "/b\(round).bin"
            let run = BackgroundRun {
                try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"), "-o", output,
                                                  "--password-file", deployment.passwordFile] + DeploymentFixture.weakKDF,
                                   environment: ["MIIS_FAULT_POINT": "verified-write.before-commit:stop"])
            }
            let stopped = try #require(StoppedTool.wait(for: "miisserver", arguments: ["backup", output]))
            // The link of the verified temporary file to its name comes right after the point.
            Thread.sleep(forTimeInterval: 0.2)
            #expect(!FileManager.default.fileExists(atPath: output), "round \(round): the backup was committed while stopped")
            stopped.resume()
            let result = try #require(try run.wait(timeout: 60))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(FileManager.default.fileExists(atPath: output))
        }
    }
}
