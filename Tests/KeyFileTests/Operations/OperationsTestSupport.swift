import Foundation
@testable import KeyFile

/// Helpers shared by the Operations tests: fast (weak-KDF) key files in a temporary directory.
enum OperationsFixture {
    static let weakKDF = KDFParameters.scrypt(logN: 10, r: 8, p: 1)

    static func credentials(_ account: String = "CORP\\sync", _ password: String = "correct horse") throws -> Credentials {
        Credentials(account: try ServiceAccount(account), password: try Password(password))
    }

    static func keyFile(keys: Int = 2, credentials: Credentials, kdf: KDFParameters = weakKDF,
                        createdAt: Int64 = KeyFileTime.now) throws -> KeyFile {
        try KeyFile(keySet: try KeySet.generate(count: keys), account: credentials.account, sourceServer: "sync1",
                    kdf: kdf, policy: .allowWeak, createdAt: createdAt)
    }

    static func bytes(keys: Int = 2, credentials: Credentials, kdf: KDFParameters = weakKDF, createdAt: Int64 = KeyFileTime.now) throws -> [UInt8] {
        try keyFile(keys: keys, credentials: credentials, kdf: kdf, createdAt: createdAt).serialized(with: credentials)
    }

    /// Replaces the trailing checksum so that a deliberate edit is not caught as corruption.
    static func fixChecksum(_ bytes: inout [UInt8]) throws {
        let digest = try SHA256.hash(Array(bytes[..<(bytes.count - 32)]))
        bytes.replaceSubrange((bytes.count - 32)..., with: digest)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: Int(mode)]) else {
            throw CocoaError(.fileWriteUnknown)
        }
        chmod(path, mode)
    }
}

/// A temporary directory removed when the value goes away.
final class OperationsTemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("keyfile-ops-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o700)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
