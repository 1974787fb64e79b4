internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Secret bytes (passwords, key material, derived keys) in page-locked memory.
///
/// The buffer is locked in memory with `mlock` where the process is allowed to (so it is not
/// swapped out), wiped with `OPENSSL_cleanse` when the last reference goes away, and never
/// printed: `description` and `debugDescription` show only the length. Equality is constant-time.
///
/// Many small secrets of one set (the keys of a key set) share one allocation: each is a slice
/// of a parent (``init(slice:of:)``) that it keeps alive. A slice wipes its own bytes when it
/// goes; the parent wipes all of them again, unlocks and frees when the last slice and the
/// parent itself are gone. That is one `mlock`/`munlock` pair per key set instead of one per key.
public final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    // Sendable is sound: the buffer is written only during initialization and then only read.
    private let buffer: UnsafeMutableRawBufferPointer
    /// What this object frees: its own allocation (`isLocked` tells whether it was locked), or
    /// nothing when it is a slice of `parent`.
    private let ownership: Ownership

    private enum Ownership {
        case allocation(isLocked: Bool)
        case slice(of: SecureBytes)
    }

    /// The number of secret bytes.
    public var count: Int { buffer.count }
    public var isEmpty: Bool { buffer.isEmpty }

    /// Allocates `count` bytes and lets `initialize` fill them; they are wiped if it throws.
    package init(count: Int, initialize: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        // A zero-byte allocation still gets a real pointer so that C callees never see NULL.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        let buffer = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
        let locked = mlock(storage.baseAddress, storage.count) == 0
        // Fill before any stored property is set: if `initialize` throws, the object was never
        // initialized, so `deinit` does not run and the storage is wiped and freed exactly once
        // here. (Throwing after full initialization would run `deinit` too: a double free.)
        do {
            try initialize(buffer)
        } catch {
            Self.wipe(storage, locked: locked)
            throw error
        }
        self.buffer = buffer
        self.ownership = .allocation(isLocked: locked)
    }

    /// The bytes `range` of `parent`, without a copy; `parent` stays allocated while the slice
    /// lives. Slices of one parent must not overlap: each wipes its range when it goes.
    init(slice range: Range<Int>, of parent: SecureBytes) {
        precondition(range.lowerBound >= 0 && range.upperBound <= parent.count, "slice outside its parent")
        self.buffer = UnsafeMutableRawBufferPointer(rebasing: parent.buffer[range])
        self.ownership = .slice(of: parent)
    }

    /// Copies `bytes` into a new secret buffer. The caller remains responsible for its own copy;
    /// the intermediate array made here is wiped (when `bytes` is itself an array, that wipes a
    /// private copy and leaves the caller's alone).
    public convenience init(_ bytes: some Sequence<UInt8>) {
        var array = Array(bytes)
        defer { Self.wipe(&array) }
        self.init(count: array.count) { out in array.withUnsafeBytes { out.copyMemory(from: $0) } }
    }

    deinit {
        switch ownership {
        case let .allocation(isLocked):
            Self.wipe(UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: max(buffer.count, 1)), locked: isLocked)
        case .slice:
            if let base = buffer.baseAddress { OPENSSL_cleanse(base, buffer.count) }
        }
    }

    /// Wipes an ordinary array that held a secret (a file read back for comparison), for the
    /// few places where the bytes cannot be read straight into a ``SecureBytes``.
    package static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
    }

    private static func wipe(_ storage: UnsafeMutableRawBufferPointer, locked: Bool) {
        OPENSSL_cleanse(storage.baseAddress, storage.count)
        if locked { munlock(storage.baseAddress, storage.count) }
        storage.deallocate()
    }

    /// Fresh bytes from OpenSSL's CSPRNG.
    public static func random(count: Int) throws -> SecureBytes {
        try SecureBytes(count: count) { try SecureRandom.fill($0) }
    }

    /// Gives read access to the secret for the duration of `body`; do not let the pointer escape.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(buffer))
    }

    /// A copy as an ordinary array, for the few places (serialization, tests) that need one.
    /// Prefer ``withUnsafeBytes(_:)``: the array is not wiped.
    package func unsafeCopyToArray() -> [UInt8] { Array(UnsafeRawBufferPointer(buffer)) }

    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
}
