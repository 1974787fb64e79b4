internal import COpenSSL

/// SHA-256 (FIPS 180-4) through OpenSSL's EVP digest interface.
public enum SHA256 {
    public static let digestSize = 32

    /// The digest of `data`.
    package static func hash(_ data: UnsafeRawBufferPointer) throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestSize)
        var length: UInt32 = 0
        let status = digest.withUnsafeMutableBufferPointer { out in
            // EVP_DigestUpdate accepts a NULL pointer when the count is zero.
            EVP_Digest(data.baseAddress, data.count, out.baseAddress, &length, EVP_sha256(), nil)
        }
        try OpenSSLFailure.check(status, "SHA-256")
        return digest
    }

    public static func hash(_ data: [UInt8]) throws -> [UInt8] {
        try data.withUnsafeBytes { try hash($0) }
    }

    public static func hash(_ data: ArraySlice<UInt8>) throws -> [UInt8] {
        try data.withUnsafeBytes { try hash($0) }
    }
}
