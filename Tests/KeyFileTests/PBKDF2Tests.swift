import Testing
@testable import KeyFile

/// PBKDF2-HMAC-SHA256 vectors of RFC 7914 section 11.
@Suite struct PBKDF2SHA256KnownAnswerTests {
    func derive(_ password: String, _ salt: String, _ iterations: UInt64, _ count: Int) throws -> String {
        try utf8(password).withUnsafeBytes {
            try PasswordKDF.pbkdf2SHA256(password: $0, salt: utf8(salt), iterations: iterations, count: count).hexForTesting
        }
    }

    @Test func passwdSaltOneIteration() throws {
        #expect(try derive("passwd", "salt", 1, 64) == """
            55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
            49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783
            """)
    }

    @Test func passwordNaCl80000Iterations() throws {
        #expect(try derive("Password", "NaCl", 80_000, 64) == """
            4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
            a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d
            """)
    }
}
