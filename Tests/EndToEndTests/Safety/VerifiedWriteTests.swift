import Foundation
import Testing

/// The backup is written through the verified atomic writer: it is re-read and re-opened from the
/// synced temporary file before the commit, so a backup that fails its verification never appears.
@Suite("Verified writes")
struct VerifiedWriteTests {
    @Test func aBackupThatFailsVerificationLeavesNothing() throws {
        let deployment = try DeploymentFixture()
        let backups = deployment.root.file("verify-backups")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        let output = backups + "/b.bin"
        // `verified-write.verify:error`: the read-back verification fails (as a bad disk would make it).
        let failed = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"), "-o", output,
                                                    "--password-file", deployment.passwordFile] + DeploymentFixture.weakKDF,
                                        environment: ["MIIS_FAULT_POINT": "verified-write.verify:error"])
        #expect(failed.status == 15, "\(failed.status): \(failed.stderr)")
        #expect(failed.stderr.contains("fault point verified-write.verify: injected failure"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups).isEmpty)
        // Without the fault the same command writes the backup.
        let written = try ToolRunner.run("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"), "-o", output,
                                                     "--password-file", deployment.passwordFile] + DeploymentFixture.weakKDF)
        #expect(written.status == 0, "\(written.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: backups) == ["b.bin"])
    }
}
