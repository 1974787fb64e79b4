import Testing
@testable import KeyFile

/// RFC 5869 appendix A, test cases 1 to 3 (the SHA-256 ones). Only the OKM is observable through
/// our API (OpenSSL runs extract and expand in one call); the PRKs are in the RFC.
@Suite struct HKDFSHA256KnownAnswerTests {
    @Test func case1Basic() throws {
        let okm = try HKDFSHA256.deriveKey(
            from: SecureBytes([UInt8](repeating: 0x0b, count: 22)), salt: hex("000102030405060708090a0b0c"),
            info: hex("f0f1f2f3f4f5f6f7f8f9"), count: 42)
        #expect(okm.hexForTesting == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    }

    @Test func case2LongInputs() throws {
        let okm = try HKDFSHA256.deriveKey(
            from: SecureBytes(Array(0x00...0x4f as ClosedRange<UInt8>)), salt: Array(0x60...0xaf as ClosedRange<UInt8>),
            info: Array(0xb0...0xff as ClosedRange<UInt8>), count: 82)
        #expect(okm.hexForTesting == """
            b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c\
            59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71\
            cc30c58179ec3e87c14c01d5c1f3434f1d87
            """)
    }

    @Test func case3EmptySaltAndInfo() throws {
        // The format uses exactly this shape: empty salt (HashLen zero bytes per RFC 5869 2.2).
        let okm = try HKDFSHA256.deriveKey(from: SecureBytes([UInt8](repeating: 0x0b, count: 22)), info: [], count: 42)
        #expect(okm.hexForTesting == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    @Test func emptySaltEqualsZeroSalt() throws {
        let ikm = SecureBytes([UInt8](repeating: 0x0b, count: 22))
        let empty = try HKDFSHA256.deriveKey(from: ikm, info: utf8("x"), count: 32)
        let zeros = try HKDFSHA256.deriveKey(from: ikm, salt: [UInt8](repeating: 0, count: 32), info: utf8("x"), count: 32)
        #expect(empty == zeros)
    }

    @Test func lengthBounds() throws {
        let ikm = SecureBytes([1, 2, 3])
        #expect(keyFileError { try HKDFSHA256.deriveKey(from: ikm, info: [], count: 0) }?.category == .invalidInput)
        #expect(keyFileError { try HKDFSHA256.deriveKey(from: ikm, info: [], count: 255 * 32 + 1) }?.category == .invalidInput)
        #expect(try HKDFSHA256.deriveKey(from: ikm, info: [], count: 255 * 32).count == 8160)
    }
}
