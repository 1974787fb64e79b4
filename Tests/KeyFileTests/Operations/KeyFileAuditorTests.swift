import Foundation
import Testing
@testable import KeyFile

@Suite struct KeyFileAuditorTests {
    @Test func weakKDFLoosePermissionsAndAgeAreFindings() throws {
        let directory = try OperationsTemporaryDirectory()
        let now: Int64 = 1_800_000_000
        let bytes = try OperationsFixture.bytes(credentials: try OperationsFixture.credentials(), createdAt: now - 40 * 86_400)
        try OperationsFixture.write(bytes, to: directory.file("old.key"), mode: 0o664)
        let report = KeyFileAuditor(maxAgeDays: 30, now: now).audit(directory.file("old.key"))
        let ids = Set(report.findings.map(\.id))
        #expect(ids.isSuperset(of: ["kdf.below-floor", "permissions.world-readable", "permissions.group-readable",
                                    "permissions.group-writable", "age.exceeded", "header.unauthenticated", "cipher"]))
        #expect(report.highestSeverity == .high)
        #expect(report.checksumValid == true)
        #expect(report.ageDays == 40)
        #expect(report.mode == "0664")
        #expect(report.findings.first?.severity == .high)
    }

    /// `keytool audit a` (a file named with one character, in the current directory) trapped
    /// with SIGILL: the directory came from `NSString.deletingLastPathComponent`, which traps on
    /// such names on this toolchain. "." is such a name that exists in every test run.
    @Test func aOneCharacterNameIsAuditedNotATrap() {
        let report = KeyFileAuditor().audit(".")
        #expect(report.findings.contains { $0.severity == .high })  // a directory is no key file
        #expect(FileSystemPath.directory(of: "a") == "")
    }

    @Test func recommendedParametersAndPrivateFileLeaveOnlyInformation() throws {
        let header = try OperationsFixture.keyFile(credentials: try OperationsFixture.credentials(), kdf: .recommendedPBKDF2).header
        let findings = KeyFileAuditor().contentFindings(header)
        #expect(findings.allSatisfy { $0.severity == .info })
        #expect(findings.contains { $0.id == "kdf.pbkdf2" })
        #expect(KeyFileAuditor().permissionFindings(mode: 0o600, directory: "/nonexistent").isEmpty)
    }

    @Test func aboveFloorButBelowRecommendationIsMedium() throws {
        var header = try OperationsFixture.keyFile(credentials: try OperationsFixture.credentials()).header
        header.kdf = .scrypt(logN: 16, r: 8, p: 1)
        #expect(KeyFileAuditor().contentFindings(header).contains { $0.id == "kdf.below-recommended" && $0.severity == .medium })
        header.kdf = .scrypt(logN: 30, r: 8, p: 1)
        #expect(KeyFileAuditor().contentFindings(header).contains { $0.id == "kdf.out-of-bounds" && $0.severity == .high })
    }

    @Test func unreadableAndCorruptedFilesAreHighFindings() throws {
        let directory = try OperationsTemporaryDirectory()
        try OperationsFixture.write(Array("hello".utf8), to: directory.file("text.key"))
        #expect(KeyFileAuditor().audit(directory.file("text.key")).findings.contains { $0.id == "file.corrupted" })
        #expect(KeyFileAuditor().audit(directory.file("missing.key")).findings.map(\.id) == ["file.unreadable"])
    }

    @Test func severitiesAreNamedInAnyCase() throws {
        #expect(AuditSeverity(name: "LOW") == .low && AuditSeverity(name: "severe") == nil)
    }

    /// A key file owned by neither the auditing user nor root is a high finding: its owner can
    /// rewrite it whatever its mode says. Root's files and the auditor's own are not.
    @Test func fileOwnedByAnotherUserIsAFinding() throws {
        let directory = try OperationsTemporaryDirectory()
        let path = directory.file("theirs.key")
        try OperationsFixture.write(try OperationsFixture.bytes(credentials: try OperationsFixture.credentials()), to: path, mode: 0o600)
        #expect(!KeyFileAuditor().audit(path).findings.contains { $0.id.hasPrefix("ownership.") })
        #expect(chown(path, 65534, 65534) == 0)
        let finding = KeyFileAuditor().audit(path).findings.first { $0.id == "ownership.other-user" }
        #expect(finding?.severity == .high)
        #expect(finding?.message == "the file is owned by nobody (uid 65534), neither root nor you: its owner can rewrite it or loosen its mode; chown it")
        #expect(!KeyFileAuditor(invokingUserID: 65534).audit(path).findings.contains { $0.id == "ownership.other-user" })
        #expect(KeyFileAuditor(invokingUserID: 1000).ownershipFindings(owner: 0, name: "root").isEmpty)
        #expect(KeyFileAuditor().ownershipFindings(owner: 424_242, name: nil).map(\.id) == ["ownership.other-user", "ownership.unknown-owner"])
    }
}
