import Foundation
import Testing
import ToolSupport
@testable import KeyFile

/// Whole-file integrity: every bit flip and every truncation of a valid file is `corrupted`,
/// never a crash, never a success; read-then-write is byte-identical.
@Suite struct IntegrityTests {
    struct Sample: Sendable, CustomTestStringConvertible {
        let file: String
        let account: String
        let password: String
        var testDescription: String { file }
        var credentials: Credentials { get throws { Credentials(account: try ServiceAccount(account), password: try Password(password)) } }
        var bytes: [UInt8] { get throws { try TestVectorTests.load(file) } }
    }

    static let samples = [
        Sample(file: "scrypt-weak.bin", account: "sync", password: "password"),
        Sample(file: "pbkdf2-floor.bin", account: "MÜNCHEN\\Jörg", password: "Grüße, Jörg! 東京 ☃"),
        Sample(file: "multi-key.bin", account: "CORP\\Sync", password: "multi-key password"),
    ]

    @Test(arguments: samples)
    func everySingleBitFlipIsCorrupted(_ sample: Sample) throws {
        let good = try sample.bytes
        for bit in 0..<(good.count * 8) {
            var bad = good
            bad[bit / 8] ^= UInt8(1 << (bit % 8))
            let error = keyFileError { try SealedKeyFile(bytes: bad) }
            let expected = bit / 8 < KeyFileFormat.magic.count ? "corrupted.magic" : "corrupted.checksum"
            #expect(error?.code.rawValue == expected, "bit \(bit)")
        }
    }

    @Test(arguments: samples)
    func everyTruncationIsCorrupted(_ sample: Sample) throws {
        let good = try sample.bytes
        for length in 0..<good.count {
            let error = keyFileError { try SealedKeyFile(bytes: Array(good.prefix(length))) }
            #expect(error?.category == .corrupted, "prefix of \(length) bytes")
            let expected = length < SealedKeyFile.minimumSize ? "corrupted.truncated" : "corrupted.checksum"
            #expect(error?.code.rawValue == expected, "prefix of \(length) bytes")
        }
    }

    @Test(arguments: samples)
    func readThenWriteIsByteIdentical(_ sample: Sample) throws {
        let bytes = try sample.bytes
        let credentials = try sample.credentials
        let file = try SealedKeyFile(bytes: bytes).open(with: credentials, policy: .allowWeak)
        let rewritten = try file.serialized(with: credentials)
        #expect(rewritten == bytes)
        // And once more through the rewritten bytes.
        #expect(try SealedKeyFile(bytes: rewritten).open(with: credentials, policy: .allowWeak).serialized(with: credentials) == bytes)
    }

    @Test(arguments: samples)
    func wrongPasswordIsWrongCredentialsNeverCorrupted(_ sample: Sample) throws {
        let sealed = try SealedKeyFile(bytes: try sample.bytes)
        let account = try ServiceAccount(sample.account)
        for wrong in [sample.password + " ", String(sample.password.dropLast())] {
            let error = keyFileError { try sealed.open(with: Credentials(account: account, password: try Password(wrong)), policy: .allowWeak) }
            #expect(error?.code.rawValue == "wrongCredentials.header-mac")
            #expect(error.map(ExitCodes.status(for:)) == 11)
        }
    }

    /// Beyond the checksum: a flip with the checksum recomputed (what a forger without the password
    /// can do) is always refused, by structure, version, bounds, header MAC or AEAD.
    @Test func everyByteFlipWithRecomputedChecksumIsRefused() throws {
        let good = try Self.samples[0].bytes
        let credentials = try Self.samples[0].credentials
        let headerEnd = 18 + Int(good[14..<18].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        let payloadStart = headerEnd + 32 + 4
        for index in 0..<(good.count - 32) {
            var bad = Array(good.dropLast(32))
            bad[index] ^= 0x01
            bad += try SHA256.hash(bad)
            let error = keyFileError { try SealedKeyFile(bytes: bad).open(with: credentials, policy: .allowWeak) }
            #expect(error != nil, "byte \(index) flipped: opened anyway")
            switch index {
            case 0..<12: #expect(error?.code.rawValue == "corrupted.magic")
            case 12: #expect(error?.code.rawValue == "unsupported.version")
            case headerEnd..<(headerEnd + 32): #expect(error?.code.rawValue == "wrongCredentials.header-mac", "MAC byte \(index)")
            case (headerEnd + 32)..<payloadStart: #expect(error?.code.rawValue == "corrupted.structure", "payload length byte \(index)")
            case payloadStart...: #expect(error?.code.rawValue == "tampered.payload", "payload byte \(index)")
            default: #expect(error.map { [.corrupted, .unsupported, .wrongCredentials, .parametersOutOfBounds].contains($0.category) } == true,
                             "header byte \(index): \(String(describing: error))")
            }
        }
    }

    @Test func inspectWorksWithoutAPassword() throws {
        let bytes = try TestVectorTests.load("multi-key.bin")
        let (file, holds) = try SealedKeyFile.inspect(bytes: bytes)
        #expect(holds)
        #expect(file.header.keys.map(\.id.rawValue) == [1, 2, 7, 100, UInt32.max])
        #expect(file.header.primaryKeyID == KeyID(rawValue: 7))
        #expect(file.header.account.canonical == "corp\\sync")
        #expect(file.header.kdf == .scrypt(logN: 10, r: 8, p: 1))
        #expect(file.header.sourceServer == "sync1.corp.example")
        #expect(file.header.comment == "five keys: retired, disabled, active primary, active, retired")
    }

    @Test func inspectReportsABrokenChecksum() throws {
        var bytes = try TestVectorTests.load("multi-key.bin")
        bytes[bytes.count - 40] ^= 0x01  // a payload byte
        let (file, holds) = try SealedKeyFile.inspect(bytes: bytes)
        #expect(!holds)
        #expect(file.header.keys.count == 5)
        #expect(keyFileError { try SealedKeyFile(bytes: bytes) }?.code.rawValue == "corrupted.checksum")
        // A flip that breaks the structure cannot be inspected: reported as the checksum mismatch.
        var broken = try TestVectorTests.load("multi-key.bin")
        broken[15] ^= 0x40  // header length
        #expect(keyFileError { try SealedKeyFile.inspect(bytes: broken) }?.code.rawValue == "corrupted.checksum")
        #expect(keyFileError { try SealedKeyFile.inspect(bytes: Array(broken.prefix(20))) }?.code.rawValue == "corrupted.truncated")
    }

    @Test func sizeLimits() throws {
        #expect(SealedKeyFile.minimumSize == 102)
        var huge = KeyFileFormat.magic
        huge += [UInt8](repeating: 0, count: SealedKeyFile.maximumSize + 1 - huge.count)
        #expect(keyFileError { try SealedKeyFile(bytes: huge) }?.code.rawValue == "corrupted.size")
        #expect(keyFileError { try SealedKeyFile(bytes: Array("hello, world".utf8)) }?.code.rawValue == "corrupted.magic")
        #expect(keyFileError { try SealedKeyFile(bytes: []) }?.code.rawValue == "corrupted.truncated")
    }
}
