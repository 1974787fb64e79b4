import Foundation
import Testing
@testable import KeyFile

/// Project Wycheproof's AES-GCM, HMAC-SHA-256 and HKDF-SHA-256 sets (vendored in
/// `Vectors/wycheproof/`, source and licence in its README), run through KeyFile's own primitives:
/// every "valid" case must reproduce the expected output, every "invalid" one must be refused.
/// Cases the API cannot express are skipped by a named filter, and each skipped case is still
/// handed to the API to show that it is refused rather than misread. The counts of cases run and
/// skipped are asserted, so a changed file or a broken loader cannot make a test pass on nothing.
@Suite struct WycheproofTests {
    // MARK: AES-GCM

    struct AEADGroup: Decodable {
        let ivSize: Int
        let keySize: Int
        let tagSize: Int
        let tests: [AEADCase]
    }

    struct AEADCase: Decodable {
        let tcId: Int
        let comment: String
        let key: String
        let iv: String
        let aad: String
        let msg: String
        let ct: String
        let tag: String
        let result: Outcome
    }

    @Test func aesGCM() throws {
        let file = try WycheproofFile<AEADGroup>.load("aes_gcm_test")
        #expect(file.algorithm == "AES-GCM")
        var tally = Tally()
        for group in file.testGroups {
            for test in group.tests {
                let label = "aes_gcm_test tcId \(test.tcId) (\(test.comment))"
                let key = SecureBytes(hex(test.key))
                let nonce = hex(test.iv)
                let aad = hex(test.aad)
                let sealed = hex(test.ct + test.tag)
                // AES256GCM takes 32-byte keys and 12-byte nonces only (the format uses nothing else);
                // its size checks refuse the rest before any cryptography happens.
                if group.keySize != AES256GCM.keySize * 8 {
                    tally.skip("AES-\(group.keySize) key: AES256GCM takes 256-bit keys only")
                    #expect(refusalCode { try AES256GCM.seal(hex(test.msg), key: key, nonce: nonce, associatedData: aad) } == "invalidInput.aes-key-size", "\(label)")
                    #expect(refusalCode { try AES256GCM.open(sealed[...], key: key, nonce: nonce, associatedData: aad) } == "invalidInput.aes-key-size", "\(label)")
                    continue
                }
                if group.ivSize != AES256GCM.nonceSize * 8 && test.result != .invalid {
                    tally.skip("\(group.ivSize)-bit IV: AES256GCM takes 96-bit nonces only")
                    #expect(refusalCode { try AES256GCM.seal(hex(test.msg), key: key, nonce: nonce, associatedData: aad) } == "invalidInput.aes-nonce-size", "\(label)")
                    #expect(refusalCode { try AES256GCM.open(sealed[...], key: key, nonce: nonce, associatedData: aad) } == "invalidInput.aes-nonce-size", "\(label)")
                    continue
                }
                #expect(group.tagSize == AES256GCM.tagSize * 8, "\(label): every case of this file has a 128-bit tag")
                switch test.result {
                case .valid:
                    tally.ran += 1
                    let output = try AES256GCM.seal(hex(test.msg), key: key, nonce: nonce, associatedData: aad)
                    #expect(output.hexString == test.ct + test.tag, "\(label): seal")
                    let opened = try AES256GCM.open(sealed[...], key: key, nonce: nonce, associatedData: aad)
                    #expect(opened?.hexForTesting == test.msg, "\(label): open")
                case .invalid:
                    tally.ran += 1
                    // Refused either by the size checks (zero-length IVs) or by the tag check.
                    let opened = refused { try AES256GCM.open(sealed[...], key: key, nonce: nonce, associatedData: aad) }
                    #expect(opened, "\(label): an invalid ciphertext opened")
                case .acceptable:
                    tally.acceptable += 1
                }
            }
        }
        try tally.check(file, ran: 68, skipped: [
            "AES-128 key: AES256GCM takes 256-bit keys only": 108,
            "AES-192 key: AES256GCM takes 256-bit keys only": 103,
            "8-bit IV: AES256GCM takes 96-bit nonces only": 2,
            "16-bit IV: AES256GCM takes 96-bit nonces only": 2,
            "32-bit IV: AES256GCM takes 96-bit nonces only": 2,
            "48-bit IV: AES256GCM takes 96-bit nonces only": 2,
            "64-bit IV: AES256GCM takes 96-bit nonces only": 2,
            "80-bit IV: AES256GCM takes 96-bit nonces only": 2,
            "120-bit IV: AES256GCM takes 96-bit nonces only": 1,
            "128-bit IV: AES256GCM takes 96-bit nonces only": 19,
            "160-bit IV: AES256GCM takes 96-bit nonces only": 1,
            "256-bit IV: AES256GCM takes 96-bit nonces only": 1,
            "512-bit IV: AES256GCM takes 96-bit nonces only": 1,
            "1024-bit IV: AES256GCM takes 96-bit nonces only": 1,
            "2056-bit IV: AES256GCM takes 96-bit nonces only": 1,
        ])
    }

    // MARK: HMAC-SHA-256

    struct MACGroup: Decodable {
        let keySize: Int
        let tagSize: Int
        let tests: [MACCase]
    }

    struct MACCase: Decodable {
        let tcId: Int
        let comment: String
        let key: String
        let msg: String
        let tag: String
        let result: Outcome
    }

    /// Truncated tags are run, not skipped: KeyFile itself truncates HMAC-SHA-256 for key check
    /// values (`KeySet.checkValue`) and compares with `ConstantTime.equals`, as done here.
    @Test func hmacSHA256() throws {
        let file = try WycheproofFile<MACGroup>.load("hmac_sha256_test")
        #expect(file.algorithm == "HMACSHA256")
        var tally = Tally()
        for group in file.testGroups {
            for test in group.tests {
                let label = "hmac_sha256_test tcId \(test.tcId) (\(test.comment))"
                let mac = try HMACSHA256.authenticate(hex(test.msg), key: SecureBytes(hex(test.key)))
                let truncated = Array(mac.prefix(group.tagSize / 8))
                let matches = ConstantTime.equals(truncated, hex(test.tag))
                switch test.result {
                case .valid:
                    tally.ran += 1
                    #expect(matches, "\(label): got \(truncated.hexString), expected \(test.tag)")
                case .invalid:
                    tally.ran += 1
                    #expect(!matches, "\(label): a modified tag verified")
                case .acceptable:
                    tally.acceptable += 1
                }
            }
        }
        try tally.check(file, ran: 174, skipped: [:])
    }

    // MARK: HKDF-SHA-256

    struct HKDFGroup: Decodable {
        let keySize: Int
        let tests: [HKDFCase]
    }

    struct HKDFCase: Decodable {
        let tcId: Int
        let comment: String
        let ikm: String
        let salt: String
        let info: String
        let size: Int
        let okm: String
        let result: Outcome
    }

    @Test func hkdfSHA256() throws {
        let file = try WycheproofFile<HKDFGroup>.load("hkdf_sha256_test")
        #expect(file.algorithm == "HKDF-SHA-256")
        var tally = Tally()
        for group in file.testGroups {
            for test in group.tests {
                let label = "hkdf_sha256_test tcId \(test.tcId) (\(test.comment))"
                let ikm = SecureBytes(hex(test.ikm))
                switch test.result {
                case .valid:
                    tally.ran += 1
                    let okm = try HKDFSHA256.deriveKey(from: ikm, salt: hex(test.salt), info: hex(test.info), count: test.size)
                    #expect(okm.hexForTesting == test.okm, "\(label)")
                case .invalid:
                    tally.ran += 1
                    // The only invalid cases ask for more than 255 * HashLen bytes (RFC 5869 2.3).
                    let code = refusalCode { try HKDFSHA256.deriveKey(from: ikm, salt: hex(test.salt), info: hex(test.info), count: test.size) }
                    #expect(code == "invalidInput.hkdf-length", "\(label)")
                case .acceptable:
                    tally.acceptable += 1
                }
            }
        }
        try tally.check(file, ran: 86, skipped: [:])
    }
}

// MARK: Loading and counting

/// The top level of a Wycheproof JSON file (the fields these tests read).
struct WycheproofFile<Group: Decodable>: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    static func load(_ name: String) throws -> Self {
        let url = TestVectorTests.bundleDirectory.appendingPathComponent("wycheproof/\(name).json")
        return try JSONDecoder().decode(Self.self, from: Data(contentsOf: url))
    }
}

/// A Wycheproof verdict. "acceptable" means the case is legal but weak, and each library
/// decides; none of the vendored files has one, and `Tally.check` fails if a refresh adds any,
/// so that the decision is then made and written down here.
enum Outcome: String, Decodable {
    case valid, invalid, acceptable
}

struct Tally {
    var ran = 0
    var acceptable = 0
    private(set) var skipped: [String: Int] = [:]

    mutating func skip(_ reason: String) { skipped[reason, default: 0] += 1 }

    /// Every case is accounted for, exactly as many ran as expected, and each filter skipped
    /// exactly its expected number.
    func check<Group>(_ file: WycheproofFile<Group>, ran expectedRan: Int, skipped expectedSkipped: [String: Int]) throws {
        #expect(ran == expectedRan, "cases run")
        #expect(skipped == expectedSkipped, "cases skipped, by reason")
        #expect(acceptable == 0, "an \"acceptable\" case needs a decision (see Outcome)")
        #expect(ran + acceptable + skipped.values.reduce(0, +) == file.numberOfTests, "every case accounted for")
    }
}

/// The code of the `KeyFileError` that `body` threw; nil when it returned or threw something else.
private func refusalCode(_ body: () throws -> some Any) -> String? {
    keyFileError(body)?.code.rawValue
}

/// True when `body` threw a `KeyFileError` of category invalid input or returned nil (how
/// `AES256GCM.open` reports a failed tag check).
private func refused<T>(_ body: () throws -> T?) -> Bool {
    do { return try body() == nil } catch let error as KeyFileError { return error.category == .invalidInput } catch { return false }
}
