internal import COpenSSL

/// HMAC-SHA-256 (RFC 2104) through OpenSSL's EVP_MAC.
public enum HMACSHA256 {
    public static let macSize = 32

    /// The MAC of `data` under `key`.
    package static func authenticate(_ data: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) throws -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: macSize)
        let status = withNonNull(key) { key in
            withNonNull(data) { data in
                mac.withUnsafeMutableBufferPointer { out in
                    miis_hmac_sha256(key.baseAddress, key.count, data.baseAddress, data.count, out.baseAddress)
                }
            }
        }
        try OpenSSLFailure.check(status, "HMAC-SHA-256")
        return mac
    }

    public static func authenticate(_ data: [UInt8], key: SecureBytes) throws -> [UInt8] {
        try key.withUnsafeBytes { key in try data.withUnsafeBytes { try authenticate($0, key: key) } }
    }

    /// One context for many MACs in a row, each under its own key: what opening a key set of
    /// 65,535 keys needs (one check value per key). ``authenticate(_:key:)`` fetches HMAC and
    /// SHA-256 from the provider on every call; this fetches them once. Not thread-safe: one per
    /// loop.
    final class Reusable {
        private let context: OpaquePointer

        init() throws {
            guard let context = miis_hmac_sha256_context_new() else { throw OpenSSLFailure.error("HMAC-SHA-256") }
            self.context = context
        }

        deinit { miis_hmac_sha256_context_free(context) }

        /// The MAC of `data` under `key`, identical to ``HMACSHA256/authenticate(_:key:)``.
        func authenticate(_ data: UnsafeRawBufferPointer, key: UnsafeRawBufferPointer) throws -> [UInt8] {
            var mac = [UInt8](repeating: 0, count: macSize)
            let status = withNonNull(key) { key in
                withNonNull(data) { data in
                    mac.withUnsafeMutableBufferPointer { out in
                        miis_hmac_sha256_with(context, key.baseAddress, key.count, data.baseAddress, data.count, out.baseAddress)
                    }
                }
            }
            try OpenSSLFailure.check(status, "HMAC-SHA-256")
            return mac
        }
    }
}

/// Calls `body` with `buffer`, or with a one-byte empty-count buffer when `buffer` has no base
/// address, because some OpenSSL entry points reject NULL even for zero-length input.
func withNonNull<Result>(_ buffer: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    if buffer.baseAddress != nil { return body(buffer) }
    return withUnsafeBytes(of: UInt8(0)) { placeholder in
        body(UnsafeRawBufferPointer(rebasing: placeholder[0..<0]))
    }
}
