import Foundation
import Testing

/// The three tools speak with one voice (issue 18): the same release from `--version`, a quiet
/// heartbeat, JSON where they report.
@Suite struct OneVoiceTests {
    @Test(arguments: ["keytool", "miisserver", "miisactivate"])
    func versionIsTheToolkitRelease(tool: String) throws {
        let result = try ToolRunner.run(tool, ["--version"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "1.3.0\n")
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

/// A password file others can read is warned about, in the tool's own voice, as a group-writable
/// key file is refused (issue 18).
@Suite struct PasswordFileModeTests {
    @Test func aReadablePasswordFileIsWarnedAboutOnce() throws {
        let directory = try TemporaryDirectory("pw-mode")
        let passwordFile = directory.file("pw")
        try "Mode-Passw0rd\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let file = directory.file("k.key")
        chmod(passwordFile, 0o600)
        let quiet = try ToolRunner.run("keytool", ["create", "-o", file, "--account", "CORP\\svc", "--password-file", passwordFile,
                                                   "--scrypt-log-n", "10", "--allow-weak-kdf"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        chmod(passwordFile, 0o644)
        let warned = try ToolRunner.run("keytool", ["list", file, "--account", "CORP\\svc", "--password-file", passwordFile, "--allow-weak-kdf"])
        #expect(warned.status == 0)
        #expect(warned.stderr == "keytool: warning: the password file \(passwordFile) is readable or writable by group or others (mode 0644); chmod 600 it\n")
        let deployment = try DeploymentFixture()
        chmod(deployment.passwordFile, 0o640)
        let activate = try ToolRunner.run("miisactivate", [deployment.backup, DeploymentFixture.account, "--password-file", deployment.passwordFile,
                                                           "/q", "--dry-run", "--allow-weak-kdf", "--install-dir", deployment.installDirectory("sync2")])
        #expect(activate.status == 0, "\(activate.stderr)")
        #expect(activate.stderr.contains("miisactivate: warning: the password file \(deployment.passwordFile) is readable or writable by group or others (mode 0640)"),
                "\(activate.stderr)")
    }
}
