import Foundation
@testable import KeyFile
import Testing
import ToolSupport
@testable import keytool

/// keytool's own `--json` report types (Sources/keytool/Reports).
@Suite struct KeytoolReportsTests {
    @Test func inspectAndListReportsAreVersionedAndCarryNoMaterial() throws {
        let credentials = Credentials(account: try ServiceAccount("CORP\\sync"), password: try Password("correct horse"))
        let file = try KeyFile(keySet: try KeySet.generate(count: 2), account: credentials.account, sourceServer: "sync1",
                               kdf: .scrypt(logN: 10, r: 8, p: 1), policy: .allowWeak)
        let inspect = try JSONSerialization.jsonObject(with: JSONOutput.encoder().encode(
            InspectReport(path: "f", fileSize: 1, checksumValid: true, header: file.header))) as? [String: Any]
        #expect(inspect?["schemaVersion"] as? Int == 1)
        #expect(inspect?["headerAuthenticated"] as? Bool == false)
        let listData = try JSONOutput.encoder().encode(KeyListReport(path: "f", file: file))
        let list = String(decoding: listData, as: UTF8.self)
        #expect(list.contains("\"schemaVersion\" : 1"))
        #expect(list.contains(file.keySet.keys[1].checkValueHex))
        for key in file.keySet.keys {
            let material = key.material.unsafeCopyToArray()
            #expect(!list.contains(material.hexString))
            #expect(!list.contains(Data(material).base64EncodedString()))
        }
    }

    @Test func verificationReportsCarryTheExitStatusOfTheirClass() {
        let failure = VerificationResult(path: "f", header: nil, fingerprint: nil, error: KeyFileError(.tampered, code: "payload", "x"))
        #expect(VerificationReport(failure).exitCode == 12)
        var summary = VerificationSummary(authenticated: true)
        summary.add(failure)
        summary.add(VerificationResult(path: "g", header: nil, fingerprint: nil, error: KeyFileError(.io, code: "open", "y")))
        #expect(VerificationSummaryReport(summary).exitCode == 12)
        #expect(VerificationSummaryReport(VerificationSummary(authenticated: false)).exitCode == 0)
    }

    @Test func auditReportFailsAtOrAboveTheThreshold() throws {
        let files = [FileAuditReport(path: "a", findings: [AuditFinding("x", .medium, "m"), AuditFinding("y", .info, "i")])]
        #expect(AuditReport(files: files, failOn: .medium, maxAgeDays: nil).failed)
        #expect(!AuditReport(files: files, failOn: .high, maxAgeDays: nil).failed)
        #expect(AuditReport(files: files, failOn: .info, maxAgeDays: nil).counts == ["info": 1, "low": 0, "medium": 1, "high": 0])
    }
}
