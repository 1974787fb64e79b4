import Foundation
import Testing

/// `keytool create` refuses with the writer's codes of docs/key-file-format.md section 8, before
/// it asks for a password, and writes nothing.
@Suite struct KeytoolWriterRefusalTests {
    @Test func createRefusesWithTheSpecifiedCodes() throws {
        let fixture = try KeytoolFixture()
        let output = fixture.directory.file("new.key")
        func create(_ extra: [String]) throws -> ToolRunner.Result {
            try keytool(["create", "-o", output, "--account", "sync", "--password-file", fixture.passwordFile] + extra)
        }
        for count in ["0", "65536"] {
            let result = try create(["--keys", count, "--allow-weak-kdf", "--scrypt-log-n", "10"])
            #expect(result.status == 16, "\(result.stderr)")
            #expect(result.stderr == "keytool: a key set holds 1 to 65535 keys, not \(count)\n")
        }
        let ceiling = try create(["--scrypt-log-n", "21", "--allow-weak-kdf"])
        #expect(ceiling.status == 14, "\(ceiling.stderr)")
        #expect(ceiling.stderr.hasPrefix("keytool: KDF parameters exceed the resource ceiling"), "\(ceiling.stderr)")
        let weak = try create(["--scrypt-log-n", "10"])
        #expect(weak.status == 14, "\(weak.stderr)")
        #expect(weak.stderr.hasPrefix("keytool: KDF parameters are below the security floor"), "\(weak.stderr)")
        let bom = try create(["--allow-weak-kdf", "--scrypt-log-n", "10", "--server", "\u{FEFF}sync1"])
        #expect(bom.status == 16, "\(bom.stderr)")
        #expect(bom.stderr.contains("U+FEFF"), "\(bom.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// Damage reads as damage: a checksum failure is exit 10 even where the damaged bytes parse
    /// as an unknown critical field (format section 7, inspect).
    @Test func inspectReportsAChecksumFailureAsCorruptionWhateverTheBytesSay() throws {
        let fixture = try KeytoolFixture()
        var (path, _, bytes) = try fixture.writeFile("a.key")
        bytes[18] ^= 0x08  // field 1's type 0x8001 becomes 0x8801: an unknown critical field
        try KeytoolFixture.write(bytes, to: path)
        let result = try keytool(["inspect", path])
        #expect(result.status == 10, "\(result.stderr)")
        #expect(result.stderr.contains("checksum does not match"), "\(result.stderr)")
    }
}
