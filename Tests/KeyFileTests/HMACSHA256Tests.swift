import Testing
@testable import KeyFile

/// RFC 4231 section 4, test cases 1 to 7 (HMAC-SHA-256 column). Case 5 is truncated to 128 bits.
@Suite struct HMACSHA256KnownAnswerTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let number: Int
        let key: [UInt8]
        let data: [UInt8]
        let mac: String
        var testDescription: String { "RFC 4231 case \(number)" }
    }

    static let vectors: [Vector] = [
        Vector(number: 1, key: [UInt8](repeating: 0x0b, count: 20), data: utf8("Hi There"),
               mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Vector(number: 2, key: utf8("Jefe"), data: utf8("what do ya want for nothing?"),
               mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Vector(number: 3, key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
               mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Vector(number: 4, key: hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), data: [UInt8](repeating: 0xcd, count: 50),
               mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        Vector(number: 5, key: [UInt8](repeating: 0x0c, count: 20), data: utf8("Test With Truncation"),
               mac: "a3b6167473100ee06e0c796c2955552b"),
        Vector(number: 6, key: [UInt8](repeating: 0xaa, count: 131),
               data: utf8("Test Using Larger Than Block-Size Key - Hash Key First"),
               mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Vector(number: 7, key: [UInt8](repeating: 0xaa, count: 131),
               data: utf8("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
               mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]

    @Test(arguments: vectors)
    func rfc4231(_ vector: Vector) throws {
        let mac = try HMACSHA256.authenticate(vector.data, key: SecureBytes(vector.key))
        #expect(mac.count == HMACSHA256.macSize)
        // Case 5 publishes only the leftmost 128 bits; the others the whole MAC.
        #expect(mac.prefix(vector.mac.count / 2).hexString == vector.mac)
    }

    @Test func emptyKeyAndData() throws {
        // Cross-checked with Python's hmac module: HMAC-SHA-256(key = "", data = "").
        let mac = try HMACSHA256.authenticate([], key: SecureBytes([UInt8]()))
        #expect(mac.hexString == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }
}
