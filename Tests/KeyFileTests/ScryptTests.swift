import Testing
@testable import KeyFile

/// scrypt vectors of RFC 7914 section 12. The fourth vector (N = 1048576, r = 8: 1 GiB of memory
/// and seconds of CPU) is deliberately skipped to keep the suite fast; it sits exactly at our
/// memory ceiling, which ``KDFParameterBoundsTests`` covers without running it.
@Suite struct ScryptKnownAnswerTests {
    func derive(_ password: String, _ salt: String, n: UInt64, r: UInt32, p: UInt32) throws -> String {
        try utf8(password).withUnsafeBytes {
            try PasswordKDF.scrypt(password: $0, salt: utf8(salt), n: n, r: r, p: p, count: 64).hexForTesting
        }
    }

    @Test func emptyPasswordAndSalt() throws {
        #expect(try derive("", "", n: 16, r: 1, p: 1) == """
            77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442\
            fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906
            """)
    }

    @Test func passwordNaCl() throws {
        #expect(try derive("password", "NaCl", n: 1024, r: 8, p: 16) == """
            fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162\
            2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640
            """)
    }

    @Test func pleaseLetMeIn() throws {
        #expect(try derive("pleaseletmein", "SodiumChloride", n: 16384, r: 8, p: 1) == """
            7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2\
            d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887
            """)
    }

    @Test func sameThroughKDFParameters() throws {
        // The format's own entry point derives exactly RFC 7914 scrypt.
        let password = try Password("pleaseletmein")
        let out = try KDFParameters.scrypt(logN: 14, r: 8, p: 1).derive(password: password, salt: utf8("SodiumChloride"), count: 64)
        #expect(out.hexForTesting.hasPrefix("7023bdcb3afd7348461c06cd81fd38eb"))
    }
}
