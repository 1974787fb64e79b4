import Foundation
import Testing
@testable import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// Secret memory, checked in-process.
@Suite("Secret hygiene", .serialized)
struct SecretHygieneTests {
    // ProcessHardening.apply() is checked end to end (PermissionsTests.toolsHardenThemselvesBeforeReadingSecrets):
    // calling it here would lower this test process's hard core limit for good (no CAP_SYS_RESOURCE
    // in containers), which other suites in the same process would then inherit.

    /// VmLck grows by the buffer while a SecureBytes lives and shrinks when it is freed (mlock is
    /// best effort: skipped when RLIMIT_MEMLOCK is too small for the buffer).
    @Test func secureBytesAreLockedWhileAlive() throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit)
        let size = 1 << 20
        guard limit.rlim_cur == rlim_t.max || limit.rlim_cur >= rlim_t(4 * size) else { return }
        // Other suites lock and unlock concurrently: take the best of three attempts.
        var grew = 0, shrank = 0
        for _ in 0..<3 {
            let before = Self.lockedKiB()
            var secret: SecureBytes? = try SecureBytes.random(count: size)
            let during = Self.lockedKiB()
            #expect(secret?.count == size)
            secret = nil
            let after = Self.lockedKiB()
            grew = max(grew, during - before)
            shrank = max(shrank, during - after)
            if grew >= size / 1024, shrank >= size / 1024 { break }
        }
        #expect(grew >= size / 1024, "VmLck grew by \(grew) KiB")
        #expect(shrank >= size / 1024, "VmLck shrank by \(shrank) KiB")
    }

    @Test func secureBytesNeverPrintTheirContent() {
        let secret = SecureBytes(Array("hunter2-secret".utf8))
        #expect(!"\(secret)".contains("hunter2"))
        #expect(!String(reflecting: secret).contains("hunter2"))
        #expect("\(secret)".contains("redacted"))
    }

    static func lockedKiB() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmLck:") }) else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
}
