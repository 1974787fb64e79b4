import Testing
@testable import KeyFile

/// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 13 to 16 (the 256-bit-key
/// cases with 96-bit IVs; these are also in NIST's GCM validation set). Cases 17 and 18 use a
/// 64-bit and a 480-bit IV, which this API does not accept (nonces are exactly 12 bytes), so they
/// are represented by a test that non-12-byte nonces are refused.
@Suite struct AES256GCMKnownAnswerTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let number: Int
        let key: String
        let iv: String
        let plaintext: String
        let aad: String
        let ciphertext: String
        let tag: String
        var testDescription: String { "McGrew-Viega test case \(number)" }
    }

    static let key15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
    static let plaintext15 = """
        d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72\
        1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255
        """
    static let ciphertext15 = """
        522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa\
        8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad
        """

    static let vectors: [Vector] = [
        Vector(number: 13, key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
               plaintext: "", aad: "", ciphertext: "", tag: "530f8afbc74536b9a963b4f1c4cb738b"),
        Vector(number: 14, key: String(repeating: "00", count: 32), iv: String(repeating: "00", count: 12),
               plaintext: String(repeating: "00", count: 16), aad: "",
               ciphertext: "cea7403d4d606b6e074ec5d3baf39d18", tag: "d0d1c8a799996bf0265b98b5d48ab919"),
        Vector(number: 15, key: key15, iv: "cafebabefacedbaddecaf888", plaintext: plaintext15, aad: "",
               ciphertext: ciphertext15, tag: "b094dac5d93471bdec1a502270e3cc6c"),
        Vector(number: 16, key: key15, iv: "cafebabefacedbaddecaf888", plaintext: String(plaintext15.prefix(120)),
               aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
               ciphertext: String(ciphertext15.prefix(120)), tag: "76fc6ece0f4e1768cddf8853bb2d551b"),
    ]

    @Test(arguments: vectors)
    func seal(_ vector: Vector) throws {
        let sealed = try AES256GCM.seal(hex(vector.plaintext), key: SecureBytes(hex(vector.key)), nonce: hex(vector.iv), associatedData: hex(vector.aad))
        #expect(sealed.hexString == vector.ciphertext + vector.tag)
    }

    @Test(arguments: vectors)
    func open(_ vector: Vector) throws {
        let opened = try AES256GCM.open(hex(vector.ciphertext + vector.tag)[...], key: SecureBytes(hex(vector.key)),
                                        nonce: hex(vector.iv), associatedData: hex(vector.aad))
        #expect(opened?.hexForTesting == vector.plaintext)
    }

    // Wycheproof-style negative cases on test case 16 (the one with both ciphertext and AAD).
    static let base = vectors[3]
    func openCase16(sealed: [UInt8], aad: [UInt8]? = nil) throws -> SecureBytes? {
        try AES256GCM.open(sealed[...], key: SecureBytes(hex(Self.base.key)), nonce: hex(Self.base.iv),
                           associatedData: aad ?? hex(Self.base.aad))
    }

    @Test func everyTagBitFlipFails() throws {
        let good = hex(Self.base.ciphertext + Self.base.tag)
        for bit in 0..<(AES256GCM.tagSize * 8) {
            var bad = good
            bad[good.count - AES256GCM.tagSize + bit / 8] ^= UInt8(1 << (bit % 8))
            #expect(try openCase16(sealed: bad) == nil, "tag bit \(bit)")
        }
    }

    @Test func flippedCiphertextBitFails() throws {
        var bad = hex(Self.base.ciphertext + Self.base.tag)
        bad[0] ^= 0x01
        #expect(try openCase16(sealed: bad) == nil)
        bad[0] ^= 0x01
        bad[59] ^= 0x80
        #expect(try openCase16(sealed: bad) == nil)
    }

    @Test func flippedAADBitFails() throws {
        var aad = hex(Self.base.aad)
        aad[5] ^= 0x10
        #expect(try openCase16(sealed: hex(Self.base.ciphertext + Self.base.tag), aad: aad) == nil)
        #expect(try openCase16(sealed: hex(Self.base.ciphertext + Self.base.tag), aad: []) == nil)
    }

    @Test func truncatedTagFails() throws {
        let good = hex(Self.base.ciphertext + Self.base.tag)
        for cut in 1...AES256GCM.tagSize {
            #expect(try openCase16(sealed: Array(good.dropLast(cut))) == nil, "tag truncated by \(cut)")
        }
        #expect(try openCase16(sealed: []) == nil)
    }

    @Test func emptyPlaintextWithTagOnlyFlipFails() throws {
        let v = Self.vectors[0]
        var sealed = hex(v.tag)
        sealed[15] ^= 0x01
        #expect(try AES256GCM.open(sealed[...], key: SecureBytes(hex(v.key)), nonce: hex(v.iv), associatedData: []) == nil)
    }

    @Test func wrongKeyFails() throws {
        var key = hex(Self.base.key)
        key[31] ^= 1
        let opened = try AES256GCM.open(hex(Self.base.ciphertext + Self.base.tag)[...], key: SecureBytes(key),
                                        nonce: hex(Self.base.iv), associatedData: hex(Self.base.aad))
        #expect(opened == nil)
    }

    @Test func nonTwelveByteNoncesAndBadKeysAreRefused() throws {
        let key = SecureBytes(hex(Self.base.key))
        // Cases 17 (8-byte IV) and 18 (60-byte IV) cannot be expressed through this API.
        #expect(keyFileError { try AES256GCM.seal([1], key: key, nonce: hex("cafebabefacedbad"), associatedData: []) }?.code.rawValue == "invalidInput.aes-nonce-size")
        #expect(keyFileError { try AES256GCM.seal([1], key: key, nonce: [UInt8](repeating: 0, count: 60), associatedData: []) }?.code.rawValue == "invalidInput.aes-nonce-size")
        #expect(keyFileError { try AES256GCM.seal([1], key: SecureBytes([1, 2, 3]), nonce: [UInt8](repeating: 0, count: 12), associatedData: []) }?.code.rawValue == "invalidInput.aes-key-size")
    }
}
