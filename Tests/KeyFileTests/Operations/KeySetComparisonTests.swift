import Foundation
import Testing
@testable import KeyFile

@Suite struct KeySetComparisonTests {
    @Test func identicalKeySetsCompareEqualWithAndWithoutMaterial() throws {
        let credentials = try OperationsFixture.credentials()
        let file = try OperationsFixture.keyFile(keys: 3, credentials: credentials)
        let copy = try file.reprotected(account: credentials.account, kdf: OperationsFixture.weakKDF, policy: .allowWeak)
        #expect(KeySetComparison(pathA: "a", file.header, pathB: "b", copy.header).same)
        let full = KeySetComparison(pathA: "a", file, pathB: "b", copy)
        #expect(full.same && full.materialCompared && full.fingerprintA == full.fingerprintB)
    }

    @Test func differentMaterialUnderTheSameIDsIsNamedPerKey() throws {
        let credentials = try OperationsFixture.credentials()
        let a = try OperationsFixture.keyFile(keys: 2, credentials: credentials)
        let other = try KeySet.generate(count: 3)
        // Same key-set ID, key 1 identical, key 2 with new material, key 3 only in B.
        let keys = [a.keySet.keys[0], other.keys[1], other.keys[2]]
        let b = try KeyFile(keySet: try KeySet(id: a.keySet.id, keys: keys), account: credentials.account,
                            sourceServer: "sync2", kdf: OperationsFixture.weakKDF, policy: .allowWeak)
        let comparison = KeySetComparison(pathA: "a", a, pathB: "b", b)
        #expect(!comparison.same)
        #expect(comparison.differences.map(\.kind) == ["material", "only-in-b"])
        #expect(comparison.differences.map(\.id) == [2, 3])
        let headerOnly = KeySetComparison(pathA: "a", a.header, pathB: "b", b.header)
        #expect(headerOnly.differences.map(\.kind) == ["only-in-b"])
    }

    @Test func differentKeySetIDsDiffer() throws {
        let credentials = try OperationsFixture.credentials()
        let a = try OperationsFixture.keyFile(keys: 1, credentials: credentials)
        let b = try OperationsFixture.keyFile(keys: 1, credentials: credentials)
        let comparison = KeySetComparison(pathA: "a", a, pathB: "b", b)
        #expect(!comparison.same)
        #expect(comparison.keySetIDA != comparison.keySetIDB)
        #expect(comparison.differences.map(\.kind) == ["material"])
    }
}
