/// A bounds-checked big-endian reader over a byte slice. Every read either returns exactly what
/// was asked for or throws ``KeyFileError/malformed(_:)``; it never traps.
struct ByteCursor {
    private let bytes: ArraySlice<UInt8>
    private(set) var position: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.position = bytes.startIndex
    }

    var remaining: Int { bytes.endIndex - position }
    var isAtEnd: Bool { position == bytes.endIndex }

    mutating func readBytes(_ count: Int, _ what: @autoclosure () -> String) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw KeyFileError.malformed("\(what()) runs past the end of its enclosing structure")
        }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func readUInt8(_ what: @autoclosure () -> String) throws -> UInt8 {
        try readBytes(1, what()).first ?? 0
    }

    mutating func readUInt16(_ what: @autoclosure () -> String) throws -> UInt16 {
        UInt16(truncatingIfNeeded: try readInteger(2, what()))
    }

    mutating func readUInt32(_ what: @autoclosure () -> String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try readInteger(4, what()))
    }

    mutating func readInt64(_ what: @autoclosure () -> String) throws -> Int64 {
        Int64(bitPattern: try readInteger(8, what()))
    }

    private mutating func readInteger(_ width: Int, _ what: @autoclosure () -> String) throws -> UInt64 {
        try readBytes(width, what()).reduce(0) { ($0 << 8) | UInt64($1) }
    }

    /// Refuses anything left over: every structure in the format has an exact length.
    func expectEnd(_ what: @autoclosure () -> String) throws {
        guard isAtEnd else { throw KeyFileError.malformed("\(remaining) unexpected trailing bytes after \(what())") }
    }
}

/// The writing counterpart of ``ByteCursor``: big-endian fixed-width integers.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func write(_ value: UInt8) { bytes.append(value) }
    mutating func write(_ value: UInt16) { writeInteger(UInt64(value), width: 2) }
    mutating func write(_ value: UInt32) { writeInteger(UInt64(value), width: 4) }
    mutating func write(_ value: Int64) { writeInteger(UInt64(bitPattern: value), width: 8) }
    mutating func write(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }

    private mutating func writeInteger(_ value: UInt64, width: Int) {
        for shift in stride(from: (width - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
