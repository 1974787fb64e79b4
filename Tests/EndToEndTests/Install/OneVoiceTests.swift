import Foundation
import Testing

/// The three tools speak with one voice (issue 18): the same release from `--version`, a quiet
/// heartbeat, JSON where they report.
@Suite struct OneVoiceTests {
    @Test(arguments: ["keytool", "miisserver", "miisactivate"])
    func versionIsTheToolkitRelease(tool: String) throws {
        let result = try ToolRunner.run(tool, ["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "1.2.0\n")
        #expect(result.stderr.isEmpty)
    }

    @Test func heartbeatIsQuietUnlessAsked() throws {
        let deployment = try DeploymentFixture()
        let quiet = try deployment.miisserver("sync1", ["heartbeat"])
        #expect(quiet.status == 0 && quiet.stdout.isEmpty && quiet.stderr.isEmpty, "\(quiet.stdout)\(quiet.stderr)")
        let verbose = try deployment.miisserver("sync1", ["heartbeat", "--verbose"])
        #expect(verbose.stdout == "Heartbeat recorded for 'sync1' at epoch 1.\n")
        for command in ["heartbeat", "check"] {
            let json = try deployment.miisserver("sync1", [command, "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
            #expect(document["schemaVersion"] as? Int == 1 && document["server"] as? String == "sync1" && document["epoch"] as? Int == 1)
        }
    }
}
