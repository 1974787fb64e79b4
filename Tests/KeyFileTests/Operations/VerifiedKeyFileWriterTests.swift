import Foundation
import Testing
@testable import KeyFile

@Suite struct VerifiedKeyFileWriterTests {
    @Test func writesPrivateVerifiedFilesAndRefusesToOverwrite() throws {
        let directory = try OperationsTemporaryDirectory()
        let credentials = try OperationsFixture.credentials()
        let file = try OperationsFixture.keyFile(credentials: credentials)
        let path = directory.file("new.key")
        let written = try VerifiedKeyFileWriter.write(file, credentials: credentials, to: path, replace: false, policy: .allowWeak)
        #expect(written.keySet.fingerprint == file.keySet.fingerprint)
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(throws: KeyFileError.self) {
            try VerifiedKeyFileWriter.write(file, credentials: credentials, to: path, replace: false, policy: .allowWeak)
        }
        let reprotected = try file.reprotected(account: credentials.account, kdf: .scrypt(logN: 11, r: 8, p: 1), policy: .allowWeak)
        try VerifiedKeyFileWriter.write(reprotected, credentials: credentials, to: path, replace: true, policy: .allowWeak)
        #expect(try SealedKeyFile(bytes: try SecureFile.read(path)).header.kdf == .scrypt(logN: 11, r: 8, p: 1))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["new.key"])
    }

    @Test func aFailedWriteLeavesTheOldFileAndNoTemporary() throws {
        let directory = try OperationsTemporaryDirectory()
        let credentials = try OperationsFixture.credentials()
        let path = directory.file("keep.key")
        let original = try OperationsFixture.bytes(credentials: credentials)
        try OperationsFixture.write(original, to: path)
        let other = try OperationsFixture.keyFile(credentials: credentials)
        // The verification policy refuses the weak parameters after writing the temporary file.
        #expect(throws: KeyFileError.self) {
            try VerifiedKeyFileWriter.write(other, credentials: credentials, to: path, replace: true, policy: .standard)
        }
        #expect(try SecureFile.read(path) == original)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["keep.key"])
    }

    @Test func secretsAreWrittenPrivately() throws {
        let directory = try OperationsTemporaryDirectory()
        let path = directory.file("export.jwk")
        try VerifiedKeyFileWriter.writeSecret(SecureBytes(Array("secret".utf8)), to: path, replace: false)
        #expect(try SecureFile.read(path) == Array("secret".utf8))
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(throws: KeyFileError.self) { try VerifiedKeyFileWriter.writeSecret(SecureBytes([1]), to: path, replace: false) }
    }
}
