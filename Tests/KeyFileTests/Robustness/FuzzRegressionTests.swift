import Foundation
import Testing
@testable import KeyFile

/// Inputs that crashed the libFuzzer harness (scripts/fuzz.sh), kept as regression vectors.
/// They are embedded as base64 rather than as files: the test target copies only Vectors/ as
/// resources, and a stray binary here would be an "unhandled file" warning.
@Suite("Hostile fuzz regressions")
struct HostileFuzzRegressionTests {
    /// crash-e2455b96c74f52cec7d7a189b2bc6986027877cd (libFuzzer, 2026-11-25, after ~800,000 runs):
    /// scrypt with logN = 4, r = p = 0xFFFFFFFF. The crash was an arithmetic overflow in the
    /// *harness* (its "is this KDF cheap" estimate), not in the library; the library must refuse
    /// the file as past the ceiling, before deriving, with or without the checksum repaired.
    static let scryptHugeRAndP = """
        iU1JSVNLRVkNChoKAQAAAACYgAEAAAAQo4tYjrgfQRe/bBmVCiV4D4ACAAAACAAAAABpVbkAAAMAAAAFc3luYzGABAAAAAlmdXp6XHN5bmOABQAAACoBBP//////////\
        SqSBA0REOMNOXXr8vPZvndF7uumn+fWLW4/2oQ0K4guABgAAAA0BJwxwMqFh6bhO2W8GgAcAAAARAAEAAAABAQEBAAAAAGlVuQDXmnLS8TsKQHycK12Lg5p50fFf\
        XYIhBXnHCqFtTQLmYgAAAEBWIGr/wqd8DxMUrRmRyY+EnFmGZ8KHyTdVAlEAoWWUVA9vKIC46UQfz4sHu3U+OROYIgrieFpLQTQcdNgx2VUATdkNiWHlHXt0lZYR\
        mr5onQrQpwkiSZrDmN3PhdvDMP0=
        """

    @Test("crash-e2455b96: scrypt r = p = 0xFFFFFFFF is refused before deriving")
    func scryptHugeRAndPVector() throws {
        let raw = try #require(Data(base64Encoded: Self.scryptHugeRAndP)).map { $0 }
        #expect(raw.count == 302)
        // As found: the inspector reads the header whatever the checksum says.
        let inspected = try SealedKeyFile.inspect(bytes: raw)
        #expect(inspected.file.header.kdf == .scrypt(logN: 4, r: .max, p: .max))
        if !inspected.checksumHolds {
            Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: raw) }
        }
        // With the checksum repaired (as the harness does), opening stops at the ceiling.
        let sealed = try SealedKeyFile(bytes: Hostile.withChecksum(raw))
        let credentials = Credentials(account: try ServiceAccount("FUZZ\\Sync"), password: try Password("fuzz pässword"))
        for policy in [KDFParameters.Policy.allowWeak, .standard] {
            let error = Hostile.expectError(.parametersOutOfBounds) { _ = try sealed.open(with: credentials, policy: policy) }
            #expect(error?.code.rawValue == "parametersOutOfBounds.ceiling")
        }
        #expect(KDFParameters.scrypt(logN: 4, r: .max, p: .max).memoryCost == .max || KDFParameters.scrypt(logN: 4, r: .max, p: .max).memoryCost > KDFParameters.scryptMaximumMemory)
    }
}
