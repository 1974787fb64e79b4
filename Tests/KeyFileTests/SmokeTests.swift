import Testing
import Foundation
@testable import KeyFile

@Test func roundTrip() throws {
    let keySet = try KeySet.generate(count: 3)
    let account = try ServiceAccount("CORP\\Sync")
    let credentials = Credentials(account: account, password: try Password("pässwörd"))
    let file = try KeyFile(keySet: keySet, account: account, sourceServer: "sync1", kdf: .scrypt(logN: 10, r: 8, p: 1), policy: .allowWeak)
    let bytes = try file.serialized(with: credentials)
    let sealed = try SealedKeyFile(bytes: bytes)
    let opened = try sealed.open(with: credentials, policy: .allowWeak)
    #expect(opened.keySet.fingerprint == keySet.fingerprint)
    #expect(try opened.serialized(with: credentials) == bytes)
    let wrong = Credentials(account: account, password: try Password("nope"))
    #expect(throws: KeyFileError.self) { try sealed.open(with: wrong, policy: .allowWeak) }
    print(bytes.count)
}
