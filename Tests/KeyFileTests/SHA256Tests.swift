import Testing
@testable import KeyFile

/// FIPS 180-2 / FIPS 180-4 example messages (appendix B of FIPS 180-2, NIST CSRC examples).
@Suite struct SHA256KnownAnswerTests {
    @Test func abc() throws {
        #expect(try SHA256.hash(utf8("abc")).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func emptyMessage() throws {
        #expect(try SHA256.hash([UInt8]()).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func twoBlockMessage448Bits() throws {
        let message = utf8("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        #expect(message.count * 8 == 448)
        #expect(try SHA256.hash(message).hexString == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func oneMillionA() throws {
        let message = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(try SHA256.hash(message).hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func sliceAndArrayAgree() throws {
        let bytes = utf8("xxabcyy")
        #expect(try SHA256.hash(bytes[2..<5]) == SHA256.hash(utf8("abc")))
    }
}
