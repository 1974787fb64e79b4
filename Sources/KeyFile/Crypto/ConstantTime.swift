internal import COpenSSL

/// Comparisons whose timing does not depend on where the inputs differ.
public enum ConstantTime {
    /// `CRYPTO_memcmp`-based equality. Inputs of different lengths are unequal (lengths are public).
    package static func equals(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
        guard lhs.count == rhs.count else { return false }
        guard lhs.count > 0, let a = lhs.baseAddress, let b = rhs.baseAddress else { return true }
        return CRYPTO_memcmp(a, b, lhs.count) == 0
    }

    public static func equals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in equals(a, b) } }
    }
}
