import Foundation
import Testing
@testable import KeyFile

/// scrypt parameters inside the memory ceiling that RFC 7914 (and so OpenSSL) still refuses:
/// N must be below 2^(128·r/8) = 2^(16·r). Such a file is crafted, not weak: it must be refused as
/// `parametersOutOfBounds` before deriving, not surface as an OpenSSL failure from inside the KDF.
@Suite("Hostile KDF parameters")
struct HostileKDFParameterTests {
    @Test("scrypt N >= 2^(16r) is refused as invalid before deriving", arguments: [
        KDFParameters.scrypt(logN: 16, r: 1, p: 1), .scrypt(logN: 17, r: 1, p: 1), .scrypt(logN: 23, r: 1, p: 1),
    ])
    func scryptNTooLargeForR(_ kdf: KDFParameters) throws {
        #expect(kdf.memoryCost <= KDFParameters.scryptMaximumMemory) // inside the ceiling
        for policy in [KDFParameters.Policy.allowWeak, .standard] {
            let error = Hostile.expectError(.parametersOutOfBounds) { try kdf.check(policy) }
            #expect(error?.code.rawValue == "parametersOutOfBounds.invalid")
        }
        // Through a crafted file: refused at open with the bounds category.
        var bytes = try Hostile.validFile(kdf: .scrypt(logN: 1, r: 1, p: 1))
        let value = Hostile.field(.kdf, in: bytes).valueOffset
        guard case let .scrypt(logN, _, _) = kdf else { return }
        bytes[value + 1] = logN
        let sealed = try SealedKeyFile(bytes: Hostile.withChecksum(bytes))
        Hostile.expectError(.parametersOutOfBounds) { _ = try sealed.open(with: Hostile.credentials, policy: .allowWeak) }
    }

    @Test("the largest N that r allows still derives", arguments: [(UInt8(15), UInt32(1)), (UInt8(10), UInt32(1))])
    func scryptLargestNForR(_ logN: UInt8, _ r: UInt32) throws {
        let kdf = KDFParameters.scrypt(logN: logN, r: r, p: 1)
        try kdf.check(.allowWeak)
        let key = try kdf.derive(password: Hostile.credentials.password, salt: [1, 2, 3], count: 32)
        #expect(key.count == 32)
    }
}
