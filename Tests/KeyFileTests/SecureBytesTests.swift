import Testing
@testable import KeyFile

@Suite struct SecureBytesTests {
    @Test func descriptionNeverShowsBytes() {
        let secret = SecureBytes([0xde, 0xad, 0xbe, 0xef, 0x41, 0x42])
        for text in [secret.description, secret.debugDescription, String(describing: secret), String(reflecting: secret), "\(secret)"] {
            #expect(text == "SecureBytes(6 bytes, redacted)")
            #expect(!text.lowercased().contains("dead"))
            #expect(!text.contains("AB"))
        }
    }

    @Test func randomDiffersAndHasTheRightSize() throws {
        let a = try SecureBytes.random(count: 32)
        let b = try SecureBytes.random(count: 32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
        #expect(a.unsafeCopyToArray() != [UInt8](repeating: 0, count: 32))
        #expect(try SecureRandom.bytes(count: 16) != SecureRandom.bytes(count: 16))
    }

    @Test func equalityAndCopies() {
        #expect(SecureBytes([1, 2, 3]) == SecureBytes([1, 2, 3]))
        #expect(SecureBytes([1, 2, 3]) != SecureBytes([1, 2, 4]))
        #expect(SecureBytes([1, 2, 3]) != SecureBytes([1, 2]))
        #expect(SecureBytes([7, 8]).unsafeCopyToArray() == [7, 8])
    }

    @Test func emptyBufferHasANonNullPointer() throws {
        let empty = SecureBytes([UInt8]())
        #expect(empty.isEmpty && empty.count == 0)
        empty.withUnsafeBytes { #expect($0.baseAddress != nil && $0.count == 0) }
        #expect(try SecureBytes.random(count: 0).count == 0)
    }

    @Test func throwingInitializerPropagatesAndFreesOnce() {
        // Regression: a throwing fill used to free the storage in the initializer and again in
        // deinit (a double free that corrupted the heap on every OpenSSL failure path).
        struct Boom: Error {}
        for count in [0, 1, 8, 4096] {
            for _ in 0..<200 {
                #expect(throws: Boom.self) { try SecureBytes(count: count) { _ in throw Boom() } }
            }
        }
        let survivor = SecureBytes([1, 2, 3])
        #expect(survivor.unsafeCopyToArray() == [1, 2, 3])
    }

    @Test func passwordAndCredentialsAreRedacted() throws {
        let password = try Password("hunter2-sekret")
        let credentials = Credentials(account: try ServiceAccount("CORP\\Sync"), password: password)
        #expect(!password.description.contains("hunter2"))
        #expect(!"\(credentials)".contains("hunter2"))
        #expect("\(credentials)".contains("corp\\sync"))
    }
}
