import Foundation
import Testing
@testable import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// Crafted and hostile inputs: each must be refused with a clear error of the right category,
/// in bounded time and memory. Files are built valid (weak KDF), then byte-edited with the
/// whole-file checksum recomputed, so that the check under test, not the checksum, refuses them.
/// Serialized: the time and memory bounds are measured, and must not compete with each other.
@Suite("Hostile files", .serialized)
struct HostileFileTests {
    // MARK: Lengths near integer limits

    @Test("header length 0xFFFFFFFF, 0 and just past the file are refused by structure")
    func headerLengthLimits() throws {
        let valid = try Hostile.validFile()
        for length: UInt32 in [0xFFFF_FFFF, 0x8000_0000, UInt32(SealedKeyFile.maximumHeaderSize) + 1,
                               UInt32(SealedKeyFile.maximumHeaderSize), UInt32(valid.count), 0] {
            var bytes = valid
            Hostile.writeUInt32(length, into: &bytes, at: Hostile.headerLengthOffset)
            bytes = Hostile.withChecksum(bytes)
            let error = Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: bytes) }
            #expect(error?.code.rawValue == "corrupted.structure", "header length \(length)")
            Hostile.expectError(.corrupted) { _ = try SealedKeyFile.inspect(bytes: bytes) }
        }
    }

    @Test("a field length of 0xFFFFFFFF is refused before the value is read", arguments: [
        HeaderField.keySetID, .createdAt, .sourceServer, .account, .kdf, .cipher, .keyIndex, .comment,
    ])
    func fieldLengthLimit(_ field: HeaderField) throws {
        var bytes = try Hostile.validFile(comment: "note")
        let offset = Hostile.field(field, in: bytes).offset + 2
        for length: UInt32 in [0xFFFF_FFFF, 0xFFFF_FFFE, UInt32(field.maximumLength) + 1] {
            Hostile.writeUInt32(length, into: &bytes, at: offset)
            let edited = Hostile.withChecksum(bytes)
            let error = Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: edited) }
            #expect(error?.code.rawValue == "corrupted.structure")
        }
    }

    @Test("an unknown non-critical field of length 0xFFFFFFFF is refused")
    func unknownFieldLengthLimit() throws {
        let valid = try Hostile.validFile()
        let fields = Hostile.fields(valid)
        var header = Array(valid[fields[0].offset..<(fields.last!.valueOffset + fields.last!.length)])
        header += Hostile.uint16(0x0100) + Hostile.uint32(0xFFFF_FFFF) + [1, 2, 3]
        let edited = Hostile.replacingFields(of: valid, with: header)
        Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: edited) }
    }

    @Test("payload lengths near UInt32.max are refused")
    func payloadLengthLimits() throws {
        let valid = try Hostile.validFile()
        let offset = Hostile.payloadLengthOffset(valid)
        #expect(Int(Hostile.readUInt32(valid, at: offset)) == SealedKeyFile.payloadPlaintextSize(keyCount: 2) + AES256GCM.tagSize)
        for length: UInt32 in [0xFFFF_FFFF, 0xFFFF_FFF0, 0x7FFF_FFFF, UInt32(SealedKeyFile.maximumSize), 0] {
            var bytes = valid
            Hostile.writeUInt32(length, into: &bytes, at: offset)
            bytes = Hostile.withChecksum(bytes)
            let error = Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: bytes) }
            #expect(error?.code.rawValue == "corrupted.structure", "payload length \(length)")
        }
    }

    @Test("65,535 keys declared but few present is refused")
    func hugeDeclaredKeyCount() throws {
        var bytes = try Hostile.validFile(keyCount: 3)
        let index = Hostile.field(.keyIndex, in: bytes)
        bytes.replaceSubrange(index.valueOffset..<(index.valueOffset + 2), with: Hostile.uint16(0xFFFF))
        let edited = Hostile.withChecksum(bytes)
        let error = Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: edited) }
        #expect(error?.message.contains("65535") == true)
    }

    @Test("a key index of 65,535 keys whose payload is missing is refused quickly")
    func hugeKeyIndexWithoutPayload() throws {
        let valid = try Hostile.validFile(keyCount: 1)
        var fields: [UInt8] = []
        for field in Hostile.fields(valid) {
            if field.number == HeaderField.keyIndex.rawValue {
                var index = Hostile.uint16(0xFFFF)
                for id in 1...UInt32(0xFFFF) {
                    index += Hostile.uint32(id) + [1, 1, id == 1 ? 1 : 0] + [UInt8](repeating: 0, count: 8)
                }
                fields += Hostile.uint16(HeaderField.keyIndex.wireType) + Hostile.uint32(UInt32(index.count)) + index
            } else {
                fields += valid[field.offset..<(field.valueOffset + field.length)]
            }
        }
        let edited = Hostile.replacingFields(of: valid, with: fields)
        // A generous bound: a debug build parses the 983 KB index in about 0.1 s, on shared CI more.
        let error = Hostile.expectError(.corrupted, within: .seconds(5)) { _ = try SealedKeyFile(bytes: edited) }
        #expect(error?.message.contains("65535 keys need") == true)
    }

    // MARK: KDF parameters past the ceiling: refused before deriving

    static let excessiveKDFs: [KDFParameters] = [
        .scrypt(logN: 30, r: 32, p: 1), .scrypt(logN: 30, r: 1, p: 1), .scrypt(logN: 22, r: 8, p: 1),
        .scrypt(logN: 255, r: .max, p: .max), .scrypt(logN: 17, r: 8, p: 17), .scrypt(logN: 17, r: 33, p: 1),
        .pbkdf2SHA256(iterations: 4_000_000_000), .pbkdf2SHA256(iterations: .max),
        .pbkdf2SHA256(iterations: KDFParameters.pbkdf2MaximumIterations + 1),
        .scrypt(logN: 0, r: 8, p: 1), .scrypt(logN: 10, r: 0, p: 1), .scrypt(logN: 10, r: 8, p: 0), .pbkdf2SHA256(iterations: 0),
    ]

    @Test("KDF parameters past the ceiling or invalid are refused before deriving", arguments: excessiveKDFs)
    func kdfPastCeiling(_ kdf: KDFParameters) throws {
        // Start from a file of the same KDF family so only the parameters change.
        var bytes: [UInt8]
        switch kdf {
        case .scrypt: bytes = try Hostile.validFile(kdf: .scrypt(logN: 1, r: 1, p: 1))
        case .pbkdf2SHA256: bytes = try Hostile.validFile(kdf: .pbkdf2SHA256(iterations: 1))
        }
        let value = Hostile.field(.kdf, in: bytes).valueOffset
        switch kdf {
        case let .scrypt(logN, r, p):
            bytes[value + 1] = logN
            Hostile.writeUInt32(r, into: &bytes, at: value + 2)
            Hostile.writeUInt32(p, into: &bytes, at: value + 6)
        case let .pbkdf2SHA256(iterations):
            Hostile.writeUInt32(iterations, into: &bytes, at: value + 1)
        }
        let edited = Hostile.withChecksum(bytes)
        let sealed = try SealedKeyFile(bytes: edited) // the header parses: bounds are a matter for open
        #expect(sealed.header.kdf == kdf)
        for policy in [KDFParameters.Policy.allowWeak, .standard] {
            // Not wrongCredentials: the header MAC was not recomputed, so reaching it would mean the
            // KDF had run first.
            let error = Hostile.expectError(.parametersOutOfBounds) { _ = try sealed.open(with: Hostile.credentials, policy: policy) }
            #expect(error?.code.rawValue != "parametersOutOfBounds.weak" || kdf.isWeak)
        }
    }

    // MARK: Repeated and duplicate fields

    @Test("100,000 repetitions of an unknown non-critical field are refused as duplicates")
    func repeatedUnknownField() throws {
        let valid = try Hostile.validFile()
        let fields = Hostile.fields(valid)
        var header = Array(valid[fields[0].offset..<(fields.last!.valueOffset + fields.last!.length)])
        let repeated = Hostile.uint16(0x0200) + Hostile.uint32(0)
        header.reserveCapacity(header.count + 100_000 * repeated.count)
        for _ in 0..<100_000 { header += repeated }
        let edited = Hostile.replacingFields(of: valid, with: header)
        let error = Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: edited) }
        #expect(error?.message.contains("appears twice") == true)
        Hostile.expectError(.corrupted) { _ = try SealedKeyFile.inspect(bytes: edited) }
    }

    @Test("every distinct unknown non-critical field number at once stays bounded")
    func allDistinctUnknownFields() throws {
        let valid = try Hostile.validFile(comment: "c")
        let fields = Hostile.fields(valid)
        var header = Array(valid[fields[0].offset..<(fields.last!.valueOffset + fields.last!.length)])
        let first = UInt16(HeaderField.allCases.map(\.rawValue).max()! + 1)
        for number in first...0x7FFF { header += Hostile.uint16(number) + Hostile.uint32(1) + [UInt8(number & 0xFF)] }
        let edited = Hostile.replacingFields(of: valid, with: header)
        let clock = ContinuousClock()
        let start = clock.now
        let sealed = try SealedKeyFile(bytes: edited) // legal: skippable fields in canonical order
        #expect(clock.now - start < .seconds(5))
        #expect(sealed.header.unknownFields.count == Int(0x7FFF - first) + 1)
        // The header MAC covers them: the unchanged MAC no longer holds.
        Hostile.expectError(.wrongCredentials) { _ = try sealed.open(with: Hostile.credentials, policy: .allowWeak) }
    }

    @Test("a known field twice, fields out of order, or a critical unknown field are refused")
    func duplicateAndReorderedFields() throws {
        let valid = try Hostile.validFile(comment: "c")
        let fields = Hostile.fields(valid)
        func raw(_ field: Hostile.Field) -> ArraySlice<UInt8> { valid[field.offset..<(field.valueOffset + field.length)] }
        let account = fields.first { $0.number == HeaderField.account.rawValue }!

        var duplicated: [UInt8] = []
        for field in fields {
            duplicated += raw(field)
            if field.number == account.number { duplicated += raw(field) }
        }
        let twice = Hostile.replacingFields(of: valid, with: duplicated)
        #expect(Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: twice) }?.message.contains("appears twice") == true)

        var swapped = fields.map(raw)
        swapped.swapAt(0, 1)
        let reordered = Hostile.replacingFields(of: valid, with: swapped.flatMap { $0 })
        #expect(Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: reordered) }?.message.contains("out of order") == true)

        let critical = Hostile.replacingFields(of: valid, with: fields.flatMap(raw) + Hostile.uint16(0x8100) + Hostile.uint32(0))
        Hostile.expectError(.unsupported) { _ = try SealedKeyFile(bytes: critical) }
    }

    // MARK: Files that are not regular files

    @Test("a directory is refused as not a regular file")
    func directory() throws {
        let directory = try Hostile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let error = Hostile.expectError(.io) { _ = try SecureFile.read(directory) }
        #expect(error?.code.rawValue == "io.not-regular")
    }

    @Test("a FIFO without a writer is refused without blocking")
    func fifo() throws {
        let directory = try Hostile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keys.fifo"
        #expect(mkfifo(path, 0o600) == 0)
        // On a thread, so that a regression (a blocking open or read) fails the test instead of
        // hanging the run: after the deadline a writer is opened to release the reader.
        nonisolated(unsafe) var outcome: Result<[UInt8], any Error>?
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            outcome = Result { try SecureFile.read(path) }
            done.signal()
        }
        if done.wait(timeout: .now() + 2) == .timedOut {
            Issue.record("SecureFile.read blocked on a FIFO")
            let writer = open(path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
            done.wait()
        }
        switch outcome {
        case .failure(let error as KeyFileError)?:
            #expect(error.category == .io)
            #expect(error.code.rawValue == "io.not-regular")
        default:
            Issue.record("expected an io error, got \(String(describing: outcome))")
        }
    }

    @Test("a symlink to /dev/zero is refused as not a regular file")
    func symlinkToDevZero() throws {
        let directory = try Hostile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keys.bin"
        #expect(symlink("/dev/zero", path) == 0)
        let error = Hostile.expectError(.io) { _ = try SecureFile.read(path) }
        #expect(error?.code.rawValue == "io.not-regular")
    }

    @Test("an empty file is read, then refused as truncated")
    func emptyFile() throws {
        let directory = try Hostile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keys.bin"
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        let bytes = try SecureFile.read(path)
        #expect(bytes.isEmpty)
        let error = Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: bytes) }
        #expect(error?.code.rawValue == "corrupted.truncated")
        Hostile.expectError(.corrupted) { _ = try SealedKeyFile.inspect(bytes: bytes) }
    }

    @Test("a sparse 1 GiB file is refused by its size, without reading it")
    func sparseGigabyte() throws {
        let directory = try Hostile.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/keys.bin"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        try #require(descriptor >= 0)
        // A real key-file preamble, so a reader that looked at the bytes would get further.
        let written = KeyFileFormat.magic.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        #expect(written == KeyFileFormat.magic.count)
        #expect(ftruncate(descriptor, 1 << 30) == 0)
        close(descriptor)

        // Peak RSS is process-wide, and other suites may run in parallel (a default-cost scrypt
        // alone takes 128 MiB): take the smallest growth of up to three attempts. Reading the file
        // would add about 1 GiB to every attempt.
        var growths: [Int] = []
        for _ in 0..<3 {
            var error: KeyFileError?
            let growth = Hostile.peakRSSGrowth {
                error = Hostile.expectError(.corrupted, within: .milliseconds(500)) { _ = try SecureFile.read(path) }
            }
            #expect(error?.code.rawValue == "corrupted.size")
            guard let growth else { break }
            growths.append(growth)
            if growth < 64 << 20 { break }
        }
        if let smallest = growths.min() {
            #expect(smallest < 64 << 20, "peak RSS grew by \(smallest >> 20) MiB")
        }
        // Just past the 8 MiB limit: the same refusal.
        #expect(truncate(path, off_t(SealedKeyFile.maximumSize + 1)) == 0)
        #expect(Hostile.expectError(.corrupted) { _ = try SecureFile.read(path) }?.code.rawValue == "corrupted.size")
    }

    @Test("bytes past the 8 MiB cap are refused before the checksum is computed")
    func oversizedBytes() throws {
        var bytes = try Hostile.validFile()
        bytes += [UInt8](repeating: 0, count: SealedKeyFile.maximumSize)
        #expect(Hostile.expectError(.corrupted) { _ = try SealedKeyFile(bytes: bytes) }?.code.rawValue == "corrupted.size")
        #expect(Hostile.expectError(.corrupted) { _ = try SealedKeyFile.inspect(bytes: bytes) }?.code.rawValue == "corrupted.size")
    }
}
