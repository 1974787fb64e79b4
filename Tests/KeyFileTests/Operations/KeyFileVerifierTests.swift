import Foundation
import Testing
@testable import KeyFile

@Suite struct KeyFileVerifierTests {
    @Test func integrityAndAuthenticatedModesClassifyEachFailure() throws {
        let directory = try OperationsTemporaryDirectory()
        let credentials = try OperationsFixture.credentials()
        let good = try OperationsFixture.bytes(credentials: credentials)
        try OperationsFixture.write(good, to: directory.file("1-good.key"))
        var corrupted = good
        corrupted[40] ^= 1
        try OperationsFixture.write(corrupted, to: directory.file("2-corrupted.key"))
        var tampered = good
        tampered[tampered.count - 40] ^= 1  // inside the payload; checksum repaired
        try OperationsFixture.fixChecksum(&tampered)
        try OperationsFixture.write(tampered, to: directory.file("3-tampered.key"))
        try OperationsFixture.write(try OperationsFixture.bytes(credentials: try OperationsFixture.credentials("CORP\\sync", "other")),
                                    to: directory.file("4-other-password.key"))
        symlink(directory.file("gone"), directory.file("5-dangling.key"))

        let paths = KeyFilePathCollector.collect([directory.path], recursive: false)
        var statuses: [String] = []
        let integrity = KeyFileVerifier(mode: .integrity(policy: .allowWeak), jobs: 2).verify(paths) { statuses.append($0.status) }
        #expect(statuses == ["ok", "corrupted", "ok", "ok", "unreadable"])
        #expect(integrity.worst == .corrupted)
        #expect(!integrity.authenticated)

        statuses = []
        let full = KeyFileVerifier(mode: .open(credentials: credentials, policy: .allowWeak), jobs: 2).verify(paths) { statuses.append($0.status) }
        #expect(statuses == ["ok", "corrupted", "tampered", "wrong-credentials", "unreadable"])
        #expect(full.worst == .tampered)
        #expect(full.passed == 1 && full.failed == 4)
    }

    @Test func weakParametersFailUnderTheStandardPolicy() throws {
        let directory = try OperationsTemporaryDirectory()
        try OperationsFixture.write(try OperationsFixture.bytes(credentials: try OperationsFixture.credentials()), to: directory.file("weak.key"))
        let result = KeyFileVerifier(mode: .integrity(policy: .standard)).verify(directory.file("weak.key"))
        #expect(result.error?.category == .parametersOutOfBounds)
        #expect(result.status == "out-of-bounds")
    }

    @Test func summaryPicksTheMostSevereCategory() {
        var summary = VerificationSummary(authenticated: false)
        for category in [KeyFileError.Category.io, .wrongCredentials, .unsupported] {
            summary.add(VerificationResult(path: "x", header: nil, fingerprint: nil, error: KeyFileError(category, code: "t", "t")))
        }
        summary.add(VerificationResult(path: "y", header: nil, fingerprint: nil, error: nil))
        #expect(summary.worst == .wrongCredentials)
        #expect(summary.total == 4 && summary.passed == 1)
        #expect(VerificationSummary(authenticated: true).worst == nil)
    }
}
