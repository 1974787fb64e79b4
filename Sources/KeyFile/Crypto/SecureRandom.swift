internal import COpenSSL

/// OpenSSL's CSPRNG (`RAND_bytes`).
public enum SecureRandom {
    /// Fills `buffer` with cryptographically secure random bytes.
    package static func fill(_ buffer: UnsafeMutableRawBufferPointer) throws {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        guard buffer.count <= Int(Int32.max) else {
            throw KeyFileError.invalidInput("random-size", "random request of \(buffer.count) bytes is too large")
        }
        try OpenSSLFailure.check(RAND_bytes(base.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)), "RAND_bytes")
    }

    /// `count` random bytes that are not secret (salts, nonces, identifiers).
    public static func bytes(count: Int) throws -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        try result.withUnsafeMutableBytes { try fill($0) }
        return result
    }
}
