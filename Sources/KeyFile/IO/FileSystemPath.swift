/// File names on Linux are bytes, Swift strings are Unicode. `String(cString:)` and
/// `CommandLine.arguments` replace bytes that are not UTF-8 with U+FFFD, so a name like
/// `$'\xff.bin'` read from argv or `readdir` no longer names the file it came from ("no such
/// file"). This codec carries such bytes losslessly in a `String`, as Python's
/// "surrogateescape" does (Swift strings cannot hold lone surrogates, so the escape uses the
/// last 128 scalars of plane 16, private use): byte 0x80+k that is not part of valid UTF-8
/// becomes U+10FF80+k. A valid UTF-8 sequence that itself encodes one of those scalars is
/// escaped byte by byte too, so decoding is a bijection and `bytes(string(bytes: b)) == b` for
/// every byte string.
///
/// Use ``string(bytes:)``/``string(cString:)`` for names coming from the system (argv, readdir),
/// ``withCString(_:_:)`` to hand a name back to a system call, and ``visible(_:backslash:)`` to
/// print one (the escaped bytes become `\xHH`).
public enum FileSystemPath {
    /// U+10FF80 + (byte - 0x80) carries an undecodable byte.
    private static let escapeRange: ClosedRange<UInt32> = 0x10FF80...0x10FFFF

    /// Decodes a file name or argument from its bytes, escaping every byte that is not UTF-8.
    public static func string(bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var scalars = String.UnicodeScalarView()
        var index = 0
        while index < bytes.count {
            if let (scalar, length) = decodeScalar(bytes, at: index), !escapeRange.contains(scalar.value) {
                scalars.append(scalar)
                index += length
                continue
            }
            // Undecodable (or a scalar of the escape range itself): carry each byte of it.
            let length = decodeScalar(bytes, at: index)?.length ?? 1
            for byte in bytes[index..<(index + length)] {
                // Only bytes >= 0x80 can be undecodable or part of a multi-byte sequence.
                scalars.append(escape(byte))
            }
            index += length
        }
        return String(scalars)
    }

    /// Decodes a NUL-terminated name (an `argv` entry, `dirent.d_name`).
    public static func string(cString: UnsafePointer<CChar>) -> String {
        var length = 0
        while cString[length] != 0 { length += 1 }
        return cString.withMemoryRebound(to: UInt8.self, capacity: length) { string(bytes: UnsafeBufferPointer(start: $0, count: length)) }
    }

    /// The bytes `path` stands for: escaped scalars back to their byte, everything else UTF-8.
    public static func bytes(_ path: String) -> [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(path.utf8.count)
        for scalar in path.unicodeScalars {
            if escapeRange.contains(scalar.value) {
                result.append(UInt8(scalar.value - escapeRange.lowerBound + 0x80))
            } else {
                result.append(contentsOf: scalar.utf8)
            }
        }
        return result
    }

    /// Calls `body` with the NUL-terminated bytes of `path`, for `open`, `stat`, `opendir`, ...
    public static func withCString<Result>(_ path: String, _ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        // Every escaped scalar starts with the byte 0xF4 in UTF-8; most paths have none.
        guard path.utf8.contains(0xF4) else { return try path.withCString(body) }
        var raw = bytes(path)
        raw.append(0)
        return try raw.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { characters in
                // `raw` holds at least the terminating NUL, so the buffer has an address.
                guard let base = characters.baseAddress else { return try "".withCString(body) }
                return try body(base)
            }
        }
    }

    /// `text` with every escaped byte shown as `\xHH` (lowercase hex), for printing a name.
    /// `backslash` is what a backslash is written as: `"\\\\"` inside a JSON string.
    public static func visible(_ text: String, backslash: String = "\\") -> String {
        guard text.utf8.contains(0xF4) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if escapeRange.contains(scalar.value) {
                let byte = scalar.value - escapeRange.lowerBound + 0x80
                result += backslash + "x" + String(byte, radix: 16)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The directory part of `path`, as `NSString.deletingLastPathComponent` gives it for the
    /// paths the tools handle (trailing slashes ignored; `""` for a bare name, `"/"` for a name
    /// in the root), without Foundation. Repeated slashes inside are kept, not collapsed: the
    /// result names the same directory.
    package static func directory(of path: String) -> String {
        let bytes = Array(path.utf8)
        var end = bytes.count
        while end > 1, bytes[end - 1] == 0x2F { end -= 1 }
        guard let slash = bytes[..<end].lastIndex(of: 0x2F) else { return "" }
        var directoryEnd = slash
        while directoryEnd > 0, bytes[directoryEnd - 1] == 0x2F { directoryEnd -= 1 }
        return directoryEnd == 0 ? "/" : String(decoding: bytes[..<directoryEnd], as: UTF8.self)
    }

    /// The last component of `path` (trailing slashes ignored), as `NSString.lastPathComponent`.
    package static func lastComponent(of path: String) -> String {
        let bytes = Array(path.utf8)
        var end = bytes.count
        while end > 1, bytes[end - 1] == 0x2F { end -= 1 }
        guard end > 1 || bytes.first != 0x2F else { return path.isEmpty ? "" : "/" }
        let start = bytes[..<end].lastIndex(of: 0x2F).map { $0 + 1 } ?? 0
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    /// The scalar carrying `byte` (>= 0x80): always a valid scalar of plane 16.
    private static func escape(_ byte: UInt8) -> Unicode.Scalar {
        Unicode.Scalar(escapeRange.lowerBound + UInt32(byte & 0x7F)) ?? "\u{FFFD}"
    }

    /// The scalar whose shortest-form UTF-8 starts at `index`, or nil when the bytes there are
    /// not valid UTF-8 (bad lead byte, missing continuation, overlong, surrogate, > U+10FFFF).
    private static func decodeScalar(_ bytes: [UInt8], at index: Int) -> (scalar: Unicode.Scalar, length: Int)? {
        let lead = bytes[index]
        if lead < 0x80 { return (Unicode.Scalar(lead), 1) }
        let length: Int, minimum: UInt32, initial: UInt32
        switch lead {
        case 0xC2...0xDF: (length, minimum, initial) = (2, 0x80, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (length, minimum, initial) = (3, 0x800, UInt32(lead & 0x0F))
        case 0xF0...0xF4: (length, minimum, initial) = (4, 0x10000, UInt32(lead & 0x07))
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        var value = initial
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(byte & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}
