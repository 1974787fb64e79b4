internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// Secret bytes (passwords, key material, derived keys) in their own page-locked allocation.
///
/// The buffer is locked in memory with `mlock` where the process is allowed to (so it is not
/// swapped out), wiped with `OPENSSL_cleanse` when the last reference goes away, and never
/// printed: `description` and `debugDescription` show only the length. Equality is constant-time.
public final class SecureBytes: @unchecked Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    // Sendable is sound: the buffer is written only during initialization and then only read.
    private let buffer: UnsafeMutableRawBufferPointer
    private let isLocked: Bool

    /// The number of secret bytes.
    public var count: Int { buffer.count }
    public var isEmpty: Bool { buffer.isEmpty }

    /// Allocates `count` bytes and lets `initialize` fill them; they are wiped if it throws.
    public init(count: Int, initialize: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        // A zero-byte allocation still gets a real pointer so that C callees never see NULL.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        let buffer = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
        let locked = mlock(storage.baseAddress, storage.count) == 0
        // `initialize` runs before the stored properties are set: a class initializer that throws
        // once `self` is fully initialized also runs `deinit`, which would wipe and free the
        // storage a second time (a double free whenever a KDF or cipher call failed).
        do {
            try initialize(buffer)
        } catch {
            SecureBytes.wipe(storage, locked: locked)
            throw error
        }
        self.buffer = buffer
        self.isLocked = locked
    }

    /// Copies `bytes` into a new secret buffer. The caller remains responsible for its own copy.
    public convenience init(_ bytes: some Sequence<UInt8>) {
        let array = Array(bytes)
        self.init(count: array.count) { $0.copyBytes(from: array) }
    }

    deinit {
        Self.wipe(UnsafeMutableRawBufferPointer(start: buffer.baseAddress, count: max(buffer.count, 1)), locked: isLocked)
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
    public func unsafeCopyToArray() -> [UInt8] { Array(UnsafeRawBufferPointer(buffer)) }

    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in ConstantTime.equals(a, b) } }
    }

    public var description: String { "SecureBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
}
