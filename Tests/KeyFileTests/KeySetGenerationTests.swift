import Foundation
@testable import KeyFile
import Testing

/// The key set's generation (header field 9, docs/key-file-format.md section 4.5) and the key-set
/// changes that advance it.
@Suite struct KeySetGenerationTests {
    let credentials = Credentials(account: try! ServiceAccount("CORP\\svc"), password: try! Password("generation test"))

    func written(_ keySet: KeySet) throws -> [UInt8] {
        try KeyFile(keySet: keySet, account: credentials.account, sourceServer: "sync1", kdf: .scrypt(logN: 10, r: 8, p: 1),
                    policy: .allowWeak).serialized(with: credentials)
    }

    @Test func generationOneIsTheFieldsAbsenceAndLaterOnesRoundTrip() throws {
        let first = try KeySet.generate()
        let firstBytes = try written(first)
        #expect(!RawKeyFile(firstBytes).fields.contains { $0.type & 0x7fff == 9 })
        #expect(try SealedKeyFile(bytes: firstBytes).header.generation == 1)

        let rotated = try first.rotated()
        let bytes = try written(rotated)
        let field = try #require(RawKeyFile(bytes).fields.first { $0.type & 0x7fff == 9 })
        #expect(field.type == 0x0009)  // non-critical
        #expect(field.value == [0, 0, 0, 2])
        let opened = try SealedKeyFile(bytes: bytes).open(with: credentials, policy: .allowWeak)
        #expect(opened.header.generation == 2)
        #expect(opened.keySet.generation == 2)
        #expect(try opened.serialized(with: credentials) == bytes)
        #expect(HeaderReport(opened.header).generation == 2)
    }

    @Test func nonCanonicalGenerationFieldsAreRefused() throws {
        let bytes = try written(try KeySet.generate().rotated())
        for (type, value) in [(UInt16(0x0009), [UInt8]([0, 0, 0, 1])), (0x0009, [0, 0, 0, 0]), (0x0009, [0, 0, 2]), (0x8009, [0, 0, 0, 2])] {
            var raw = RawKeyFile(bytes)
            raw.fields[raw.index(of: 9)] = (type, value)
            #expect(throws: KeyFileError.self, "\(type) \(value)") { try SealedKeyFile(bytes: try raw.assembled()) }
        }
    }

    @Test func rotationAddsAFreshPrimaryAndRetiresTheOldOne() throws {
        let keySet = try KeySet.generate(count: 2)
        let rotated = try keySet.rotated(usedIDs: [KeyID(rawValue: 5)])
        #expect(rotated.id == keySet.id)
        #expect(rotated.generation == 2)
        #expect(rotated.primary.id == KeyID(rawValue: 6))  // one more than any ID used, never reused
        #expect(rotated.key(withID: KeyID(rawValue: 1))?.descriptor.status == .retired)
        #expect(rotated.key(withID: KeyID(rawValue: 1))?.descriptor.isPrimary == false)
        #expect(rotated.key(withID: KeyID(rawValue: 2))?.descriptor.status == .active)
        #expect(rotated.fingerprint != keySet.fingerprint)
        // The old keys keep their material (they still decrypt what they encrypted).
        #expect(rotated.key(withID: KeyID(rawValue: 1))?.checkValue == keySet.key(withID: KeyID(rawValue: 1))?.checkValue)
    }

    @Test func statusChangesAndRemovalSpareThePrimary() throws {
        let rotated = try KeySet.generate().rotated()
        #expect(throws: KeyFileError.self) { try rotated.settingStatus(.disabled, of: rotated.primary.id) }
        #expect(throws: KeyFileError.self) { try rotated.removing([rotated.primary.id]) }
        #expect(throws: KeyFileError.self) { try rotated.settingStatus(.retired, of: KeyID(rawValue: 99)) }
        let disabled = try rotated.settingStatus(.disabled, of: KeyID(rawValue: 1))
        #expect(disabled.generation == 3)
        #expect(disabled.fingerprint == rotated.fingerprint)  // the same keys: only the generation tells them apart
        let purged = try disabled.removing([KeyID(rawValue: 1)])
        #expect(purged.keys.map(\.id) == [KeyID(rawValue: 2)])
        #expect(purged.generation == 4)
    }

    @Test func aReplacementKeySetContinuesTheCounts() throws {
        let replacement = try KeySet.replacing(generation: 4, usedIDs: [KeyID(rawValue: 1), KeyID(rawValue: 3)])
        #expect(replacement.generation == 5)
        #expect(replacement.keys.map(\.id) == [KeyID(rawValue: 4)])
    }
}
