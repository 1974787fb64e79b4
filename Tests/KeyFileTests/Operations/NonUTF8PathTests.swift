import Foundation
import Testing
@testable import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// File names are bytes: a name that is not UTF-8 must reach the same file again (issue 17).
@Suite struct NonUTF8PathTests {
    /// Creates `directory/<bytes>` with `content` through the raw bytes of its name.
    private func create(_ directory: String, name: [UInt8], content: [UInt8]) throws {
        let path = Array(directory.utf8) + [UInt8(ascii: "/")] + name + [0]
        let descriptor = path.withUnsafeBufferPointer { $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT | O_EXCL, 0o600) } }
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        #expect(content.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == content.count)
    }

    @Test func aDirectoryWalkFindsAndReadsAFileWhoseNameIsNotUTF8() throws {
        let directory = NSTemporaryDirectory() + "non-utf8-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try create(directory, name: [0xFF] + Array(".bin".utf8), content: [1, 2, 3])
        try create(directory, name: Array("caf".utf8) + [0xE9], content: [4])  // Latin-1 "café"
        let found = KeyFilePathCollector.collect([directory], recursive: true)
        #expect(found.count == 2)
        // Each collected name opens its own file: nothing was replaced by U+FFFD.
        #expect(Set(try found.map { try SecureFile.read($0.path) }) == [[1, 2, 3], [4]])
    }

    @Test func decodingKeepsEveryByteAndValidUTF8Unchanged() {
        let samples: [[UInt8]] = [
            Array("plain/ascii.bin".utf8), Array("ünïcødé-Ω.bin".utf8), [0xFF], [0xC3], [0xC0, 0x80] /* overlong */,
            [0xED, 0xA0, 0x80] /* surrogate */, [0xF4, 0x90, 0x80, 0x80] /* > U+10FFFF */,
            Array("\u{10FF80}\u{10FFFF}".utf8) /* the escape range itself, typed as UTF-8 */, [0x61, 0xE2, 0x82, 0x61],
        ]
        for bytes in samples {
            #expect(FileSystemPath.bytes(FileSystemPath.string(bytes: bytes)) == bytes, "\(bytes)")
        }
        #expect(FileSystemPath.string(bytes: Array("ünïcødé".utf8)) == "ünïcødé")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in UInt8.random(in: 1...255, using: &generator) }
            #expect(FileSystemPath.bytes(FileSystemPath.string(bytes: bytes)) == bytes, "\(bytes)")
        }
    }

    @Test func printingShowsUndecodableBytesAsHexEscapes() {
        #expect(FileSystemPath.visible(FileSystemPath.string(bytes: [0x64, 0x2F, 0xFF, 0x2E, 0x62])) == "d/\\xff.b")
        #expect(FileSystemPath.visible(FileSystemPath.string(bytes: [0xFE]), backslash: "\\\\") == "\\\\xfe")
        #expect(FileSystemPath.visible("ünïcødé") == "ünïcødé")
    }
}
