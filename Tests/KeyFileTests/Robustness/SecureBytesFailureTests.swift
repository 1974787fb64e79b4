import Foundation
import Testing
@testable import KeyFile

/// Found while writing the hostile KDF tests: when the closure given to `SecureBytes(count:initialize:)`
/// threw (an OpenSSL KDF or cipher failure), the storage was wiped and freed by the initializer's
/// error path and then again by `deinit`, because a class initializer that throws after every
/// stored property is set still deinitializes `self`. glibc reported "malloc(): unaligned tcache
/// chunk detected" or the heap corruption surfaced later as an unrelated crash.
@Suite("Hostile secure-buffer failures", .serialized)
struct HostileSecureBytesFailureTests {
    struct Refused: Error {}

    @Test("a throwing initializer frees its storage exactly once")
    func throwingInitializer() {
        for count in [0, 1, 32, 4096] {
            for _ in 0..<200 {
                do {
                    _ = try SecureBytes(count: count) { buffer in
                        if !buffer.isEmpty { buffer[0] = 0xAA }
                        throw Refused()
                    }
                    Issue.record("the initializer should have thrown")
                } catch is Refused {
                } catch {
                    Issue.record("unexpected error \(error)")
                }
            }
        }
        // The heap is still sound: allocate and use many more buffers.
        let buffers = (0..<1000).map { index in SecureBytes(count: 32) { $0.initializeMemory(as: UInt8.self, repeating: UInt8(index & 0xFF)) } }
        #expect(buffers.enumerated().allSatisfy { index, buffer in buffer.withUnsafeBytes { $0.allSatisfy { $0 == UInt8(index & 0xFF) } } })
    }

    @Test("an OpenSSL KDF failure throws cryptoFailure without corrupting the heap")
    func failingKDF() throws {
        let password = Array("password".utf8)
        for _ in 0..<50 {
            do {
                // Bypasses KDFParameters.check on purpose: N = 2^16 with r = 1 is refused by OpenSSL.
                _ = try password.withUnsafeBytes { try PasswordKDF.scrypt(password: $0, salt: [1, 2, 3], n: 1 << 16, r: 1, p: 1, count: 32) }
                Issue.record("OpenSSL should refuse N = 2^16 with r = 1")
            } catch let error as KeyFileError {
                #expect(error.category == .cryptoFailure)
            }
        }
        let key = try password.withUnsafeBytes { try PasswordKDF.scrypt(password: $0, salt: [1, 2, 3], n: 1 << 4, r: 1, p: 1, count: 32) }
        #expect(key.count == 32)
    }
}
