import Foundation
@testable import KeyFile

/// Bytes from a hex string (whitespace ignored); traps on malformed input, which is fine in tests.
func hex(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd hex length")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// The UTF-8 bytes of `text`.
func utf8(_ text: String) -> [UInt8] { Array(text.utf8) }

extension SecureBytes {
    /// The secret as lowercase hex (tests only).
    var hexForTesting: String { unsafeCopyToArray().hexString }
}

/// Runs `body` and returns the KeyFileError it threw, or nil when it succeeded or threw something else.
func keyFileError(_ body: () throws -> some Any) -> KeyFileError? {
    do { _ = try body(); return nil } catch let error as KeyFileError { return error } catch { return nil }
}
