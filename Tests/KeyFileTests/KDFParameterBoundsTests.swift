import Testing
@testable import KeyFile

@Suite struct KDFParameterBoundsTests {
    func code(_ kdf: KDFParameters, _ policy: KDFParameters.Policy) -> String? {
        keyFileError { try kdf.check(policy) }?.code.rawValue
    }

    @Test func scryptFloorAndCeiling() {
        #expect(code(.scrypt(logN: 15, r: 8, p: 1), .standard) == nil)
        #expect(code(.scrypt(logN: 14, r: 8, p: 1), .standard) == "parametersOutOfBounds.weak")
        #expect(code(.scrypt(logN: 14, r: 8, p: 1), .allowWeak) == nil)
        #expect(code(.recommended, .standard) == nil)
        // 128 · r · N <= 1 GiB: N = 2^20, r = 8 is exactly 1 GiB (RFC 7914's fourth vector).
        #expect(code(.scrypt(logN: 20, r: 8, p: 1), .standard) == nil)
        #expect(code(.scrypt(logN: 20, r: 9, p: 1), .standard) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 20, r: 16, p: 1), .allowWeak) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 22, r: 2, p: 1), .standard) == nil)
        #expect(code(.scrypt(logN: 23, r: 2, p: 1), .standard) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 31, r: 1, p: 1), .allowWeak) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 255, r: 1, p: 1), .allowWeak) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 15, r: 32, p: 1), .standard) == nil)
        #expect(code(.scrypt(logN: 15, r: 33, p: 1), .standard) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 15, r: 8, p: 16), .standard) == nil)
        #expect(code(.scrypt(logN: 15, r: 8, p: 17), .standard) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 15, r: .max, p: .max), .standard) == "parametersOutOfBounds.ceiling")
        // Work N·r·p <= 2^24: p = 16 at the memory ceiling would otherwise cost about a minute.
        #expect(code(.scrypt(logN: 20, r: 8, p: 2), .standard) == nil)
        #expect(code(.scrypt(logN: 20, r: 8, p: 4), .standard) == "parametersOutOfBounds.ceiling")
        #expect(code(.scrypt(logN: 20, r: 8, p: 16), .allowWeak) == "parametersOutOfBounds.ceiling")
        #expect(KDFParameters.scrypt(logN: 63, r: .max, p: .max).workCost == .max)
        #expect(KDFParameters.scrypt(logN: 63, r: .max, p: 1).memoryCost == .max)
        #expect(KDFParameters.scrypt(logN: 64, r: 1, p: 1).memoryCost == .max)
    }

    @Test func scryptStructurallyInvalid() {
        #expect(code(.scrypt(logN: 0, r: 8, p: 1), .allowWeak) == "parametersOutOfBounds.invalid")
        #expect(code(.scrypt(logN: 10, r: 0, p: 1), .allowWeak) == "parametersOutOfBounds.invalid")
        #expect(code(.scrypt(logN: 10, r: 8, p: 0), .allowWeak) == "parametersOutOfBounds.invalid")
        // RFC 7914: N < 2^(16·r). With r = 1, logN = 16 is invalid (OpenSSL would refuse it).
        #expect(code(.scrypt(logN: 15, r: 1, p: 1), .standard) == nil)
        #expect(code(.scrypt(logN: 16, r: 1, p: 1), .standard) == "parametersOutOfBounds.invalid")
        #expect(code(.scrypt(logN: 16, r: 2, p: 1), .standard) == nil)
    }

    @Test func logNSixteenWithROneWouldFailInOpenSSL() throws {
        // Why the check above exists: the primitive itself refuses these parameters.
        let error = keyFileError {
            try [UInt8]().withUnsafeBytes { try PasswordKDF.scrypt(password: $0, salt: [], n: 1 << 16, r: 1, p: 1, count: 32) }
        }
        #expect(error?.category == .cryptoFailure)
    }

    @Test func pbkdf2FloorAndCeiling() {
        let cases: [(UInt32, KDFParameters.Policy, String?)] = [
            (310_000, .standard, nil),
            (309_999, .standard, "parametersOutOfBounds.weak"),
            (309_999, .allowWeak, nil),
            (10_000_000, .standard, nil),
            (10_000_001, .allowWeak, "parametersOutOfBounds.ceiling"),
            (UInt32.max, .allowWeak, "parametersOutOfBounds.ceiling"),
            (0, .allowWeak, "parametersOutOfBounds.invalid"),
            (600_000, .standard, nil),
        ]
        for (iterations, policy, expected) in cases {
            let actual = code(.pbkdf2SHA256(iterations: iterations), policy)
            #expect(actual == expected, "iterations \(iterations)")
        }
    }

    @Test func defaults() {
        #expect(KDFParameters.recommended == .scrypt(logN: 17, r: 8, p: 1))
        #expect(KDFParameters.recommended.memoryCost == 128 << 20)
        #expect(KDFParameters.recommendedPBKDF2 == .pbkdf2SHA256(iterations: 600_000))
    }
}
