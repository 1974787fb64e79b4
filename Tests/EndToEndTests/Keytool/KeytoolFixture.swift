import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// Key files for the keytool end-to-end tests, made with the library (weak scrypt, so fast) and
/// helpers that damage them in precise ways.
struct KeytoolFixture {
    static let password = "Tr0ub4dor&3-ünïcode"
    static let account = "CORP\\Sync"
    static let weakArguments = ["--allow-weak-kdf"]
    static let weakKDF = KDFParameters.scrypt(logN: 10, r: 8, p: 1)

    let directory: TemporaryDirectory
    let passwordFile: String

    init() throws {
        directory = try TemporaryDirectory("keytool-e2e")
        chmod(directory.path, 0o700)
        passwordFile = directory.file("password.txt")
        try Self.write(Array((Self.password + "\n").utf8), to: passwordFile)
    }

    var credentialArguments: [String] { ["--account", Self.account, "--password-file", passwordFile] + Self.weakArguments }

    static func credentials(password: String = KeytoolFixture.password, account: String = KeytoolFixture.account) throws -> Credentials {
        Credentials(account: try ServiceAccount(account), password: try Password(password))
    }

    /// A weak-KDF key file, opened form and bytes.
    static func makeFile(keys: Int = 2, password: String = KeytoolFixture.password, kdf: KDFParameters = weakKDF,
                         createdAt: Int64 = Int64(Date().timeIntervalSince1970), keySet: KeySet? = nil) throws -> (file: KeyFile, bytes: [UInt8]) {
        let credentials = try credentials(password: password)
        let file = try KeyFile(keySet: try keySet ?? KeySet.generate(count: keys), account: credentials.account, sourceServer: "sync1",
                               kdf: kdf, policy: .allowWeak, createdAt: createdAt)
        return (file, try file.serialized(with: credentials))
    }

    @discardableResult
    func writeFile(_ name: String, keys: Int = 2, password: String = KeytoolFixture.password,
                   createdAt: Int64 = Int64(Date().timeIntervalSince1970)) throws -> (path: String, file: KeyFile, bytes: [UInt8]) {
        let made = try Self.makeFile(keys: keys, password: password, createdAt: createdAt)
        let path = directory.file(name)
        try Self.write(made.bytes, to: path)
        return (path, made.file, made.bytes)
    }

    /// Plain POSIX write (Foundation's `Data.write` syncs, which makes 2,000 files take seconds).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw FixtureError(description: "cannot create \(path)") }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw FixtureError(description: "cannot write \(path)") }
        fchmod(descriptor, mode)
    }

    /// Recomputes the trailing SHA-256 so an edit is not caught as corruption.
    static func fixChecksum(_ bytes: inout [UInt8]) throws {
        bytes.replaceSubrange((bytes.count - 32)..., with: try SHA256.hash(Array(bytes[..<(bytes.count - 32)])))
    }

    /// The offset of the value of header field `number` (walking `type u16 | length u32 | value`).
    static func fieldValueOffset(_ bytes: [UInt8], number: UInt16) -> Int? {
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) << 8 | UInt16(bytes[at + 1]) }
        func u32(_ at: Int) -> Int { Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3]) }
        let headerStart = 18
        let headerEnd = headerStart + u32(14)
        var offset = headerStart
        while offset < headerEnd {
            let type = u16(offset) & 0x7FFF
            let length = u32(offset + 2)
            if type == number { return offset + 6 }
            offset += 6 + length
        }
        return nil
    }

    /// A file whose scrypt logN was rewritten (checksum repaired, header MAC not).
    static func withScryptLogN(_ logN: UInt8, _ bytes: [UInt8]) throws -> [UInt8] {
        var copy = bytes
        let kdf = try require_(fieldValueOffset(copy, number: 5), "KDF field")
        copy[kdf + 1] = logN
        try fixChecksum(&copy)
        return copy
    }

    /// A file with a flipped payload byte and a repaired checksum: the header MAC holds, the AEAD fails.
    static func tampered(_ bytes: [UInt8]) throws -> [UInt8] {
        var copy = bytes
        copy[copy.count - 40] ^= 0x01
        try fixChecksum(&copy)
        return copy
    }

    /// A file claiming format version 2.0 (checksum repaired).
    static func futureVersion(_ bytes: [UInt8]) throws -> [UInt8] {
        var copy = bytes
        copy[12] = 2
        try fixChecksum(&copy)
        return copy
    }

    /// The forms in which a key could leak: hex, base64 and base64url of its material.
    static func secretForms(of file: KeyFile) -> [String] {
        file.keySet.keys.flatMap { key -> [String] in
            let material = key.material.unsafeCopyToArray()
            let base64 = Data(material).base64EncodedString()
            let base64URL = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            return [material.hexString, material.hexString.uppercased(), base64, base64URL]
        }
    }
}

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// `#require` is a test macro; fixtures use this plain unwrap instead.
func require_<T>(_ value: T?, _ what: String = "value") throws -> T {
    guard let value else { throw FixtureError(description: "missing \(what)") }
    return value
}
