import Testing
@testable import KeyFile

/// `hashOnly()` is sticky for the whole process, so this suite never calls it (it would refuse
/// every key derivation of the suites after it); the transitions are checked on their own and
/// `full()` for real. keytool's end-to-end tests cover a hash-only process.
@Suite struct CryptoInitializationTests {
    @Test func transitions() {
        typealias Mode = CryptoInitialization.Mode
        #expect(CryptoInitialization.next(from: .automatic, requesting: .hashOnly) == .hashOnly)
        #expect(CryptoInitialization.next(from: .automatic, requesting: .full) == .full)
        #expect(CryptoInitialization.next(from: .hashOnly, requesting: .hashOnly) == .hashOnly)
        #expect(CryptoInitialization.next(from: .full, requesting: .full) == .full)
        // The configuration is loaded already: hashing does not mind.
        #expect(CryptoInitialization.next(from: .full, requesting: .hashOnly) == .full)
        // Libcrypto cannot load its configuration after it was initialized without it.
        #expect(CryptoInitialization.next(from: .hashOnly, requesting: .full) == nil)
    }

    @Test func fullKeepsKeyDerivationWorking() throws {
        try CryptoInitialization.full()
        try CryptoInitialization.full()
        #expect(CryptoInitialization.mode == .full)
        try CryptoInitialization.requireConfiguration("test")
        let key = try HKDFSHA256.deriveKey(from: SecureBytes([1, 2, 3]), info: [4], count: 32)
        #expect(key.count == 32)
    }
}

@Suite struct SharedBufferTests {
    @Test func slicesSeeTheirPartOfTheParentAndOutliveIt() {
        var slice: SecureBytes?
        do {
            let parent = SecureBytes(Array(0..<64))
            slice = SecureBytes(slice: 16..<48, of: parent)
        }
        #expect(slice?.unsafeCopyToArray() == Array(16..<48))
        #expect(slice?.count == 32)
    }

    @Test func generatedKeysShareOneBufferAndKeepTheirCheckValues() throws {
        let keySet = try KeySet.generate(count: 300)
        for key in keySet.keys {
            #expect(try Key.checkValue(of: key.material) == key.checkValue)
        }
        #expect(Set(keySet.keys.map { $0.material.unsafeCopyToArray() }).count == 300)
    }

    @Test func theReusableMACIsHMACSHA256() throws {
        let mac = try HMACSHA256.Reusable()
        for length in [0, 1, 32, 64, 65, 200] {
            let key = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let data = Array("what do ya want for nothing?".utf8)
            let reused = try key.withUnsafeBytes { key in try data.withUnsafeBytes { try mac.authenticate($0, key: key) } }
            let oneShot = try key.withUnsafeBytes { key in try data.withUnsafeBytes { try HMACSHA256.authenticate($0, key: key) } }
            #expect(reused == oneShot, "key length \(length)")
        }
        // RFC 4231 test case 2, through the reused context after other keys.
        let reused = try Array("Jefe".utf8).withUnsafeBytes { key in
            try Array("what do ya want for nothing?".utf8).withUnsafeBytes { try mac.authenticate($0, key: key) }
        }
        #expect(reused.hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
