import Foundation
import Testing
@testable import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// Builders and measurements for the hostile-file tests: valid files under weak KDFs, byte edits
/// that keep the whole-file checksum valid (so the structure parser, not the checksum, is what
/// refuses them), and bounds on time and memory.
enum Hostile {
    static let account = try! ServiceAccount("CORP\\Sync")
    static let credentials = Credentials(account: account, password: try! Password("hostile pässword"))
    static let createdAt: Int64 = 1_767_225_600

    /// Offsets in the preamble: magic(12) major(1) minor(1) headerLength(4).
    static let headerLengthOffset = KeyFileFormat.magic.count + 2
    static let fieldsOffset = headerLengthOffset + 4

    /// A valid file under a cheap KDF.
    static func validFile(kdf: KDFParameters = .pbkdf2SHA256(iterations: 1), keyCount: Int = 2, comment: String? = nil) throws -> [UInt8] {
        let keySet = try KeySet.generate(count: keyCount, createdAt: createdAt)
        let file = try KeyFile(keySet: keySet, account: account, sourceServer: "sync1", kdf: kdf, policy: .allowWeak,
                               createdAt: createdAt, comment: comment)
        return try file.serialized(with: credentials)
    }

    /// The bytes with the trailing SHA-256 recomputed over everything before it.
    static func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
        var fixed = bytes
        let split = bytes.count - SealedKeyFile.checksumSize
        fixed.replaceSubrange(split..., with: try! SHA256.hash(bytes[..<split]))
        return fixed
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].reduce(0) { ($0 << 8) | UInt32($1) }
    }

    static func writeUInt32(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * index)) }
    }

    static func uint32(_ value: UInt32) -> [UInt8] { var bytes = [UInt8](repeating: 0, count: 4); writeUInt32(value, into: &bytes, at: 0); return bytes }
    static func uint16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    struct Field {
        var number: UInt16
        /// Offset of the field's type in the file; the length follows at +2, the value at +6.
        var offset: Int
        var length: Int
        var valueOffset: Int { offset + 6 }
    }

    /// The header fields of a well-formed file, in order.
    static func fields(_ bytes: [UInt8]) -> [Field] {
        let end = fieldsOffset + Int(readUInt32(bytes, at: headerLengthOffset))
        var fields: [Field] = []
        var offset = fieldsOffset
        while offset < end {
            let type = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(readUInt32(bytes, at: offset + 2))
            fields.append(Field(number: type & 0x7FFF, offset: offset, length: length))
            offset += 6 + length
        }
        return fields
    }

    static func field(_ field: HeaderField, in bytes: [UInt8]) -> Field {
        fields(bytes).first { $0.number == field.rawValue }!
    }

    /// Offset of the payload length (after the header and its MAC).
    static func payloadLengthOffset(_ bytes: [UInt8]) -> Int {
        fieldsOffset + Int(readUInt32(bytes, at: headerLengthOffset)) + SealedKeyFile.macSize
    }

    /// The file with its header fields replaced by `fields` (header length adjusted, MAC, payload
    /// and checksum kept, checksum then recomputed).
    static func replacingFields(of bytes: [UInt8], with fields: [UInt8]) -> [UInt8] {
        let headerEnd = fieldsOffset + Int(readUInt32(bytes, at: headerLengthOffset))
        var result = Array(bytes[..<headerLengthOffset])
        result += uint32(UInt32(fields.count))
        result += fields
        result += bytes[headerEnd...]
        return withChecksum(result)
    }

    /// Runs `body`, which must throw a KeyFileError of `category` within `limit`; returns it.
    @discardableResult
    static func expectError(
        _ category: KeyFileError.Category, within limit: Duration = .seconds(1),
        sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
    ) -> KeyFileError? {
        let clock = ContinuousClock()
        let start = clock.now
        var caught: KeyFileError?
        do {
            try body()
            Issue.record("expected a \(category) error, but the call succeeded", sourceLocation: sourceLocation)
        } catch let error as KeyFileError {
            caught = error
            #expect(error.category == category, "\(error.code): \(error.message)", sourceLocation: sourceLocation)
            #expect(!error.message.isEmpty && !error.message.contains("\n"), "errors are one clear line", sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected a KeyFileError, got \(error)", sourceLocation: sourceLocation)
        }
        let elapsed = clock.now - start
        #expect(elapsed < limit, "took \(elapsed), more than \(limit)", sourceLocation: sourceLocation)
        return caught
    }

    /// A fresh private temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        return path
    }

    /// A value from /proc/self/status in KiB (e.g. VmRSS, VmHWM), or nil where unavailable.
    static func procStatusKiB(_ key: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }

    /// Peak-RSS growth (bytes) caused by `body`. The peak is reset first through
    /// /proc/self/clear_refs (Linux >= 4.0) so that the measure is of this call, not of the
    /// process's past; returns nil when the kernel offers neither.
    static func peakRSSGrowth(_ body: () -> Void) -> Int? {
        let reset = FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs")
            && (try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)) != nil
        guard let before = reset ? procStatusKiB("VmRSS") : procStatusKiB("VmHWM") else { body(); return nil }
        body()
        guard let after = procStatusKiB("VmHWM") else { return nil }
        return max(0, after - before) * 1024
    }
}
