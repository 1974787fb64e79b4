internal import COpenSSL

/// Password-based key derivation through OpenSSL's EVP_KDF: scrypt (RFC 7914) and
/// PBKDF2-HMAC-SHA-256 (RFC 8018). These are the raw primitives; bounds are enforced by
/// ``KDFParameters`` before anything here runs.
package enum PasswordKDF {
    /// scrypt with cost `n` (a power of two), block size `r` and parallelism `p`.
    package static func scrypt(
        password: UnsafeRawBufferPointer, salt: [UInt8], n: UInt64, r: UInt32, p: UInt32, count: Int
    ) throws -> SecureBytes {
        // OpenSSL refuses work above maxmem; ours is checked earlier, so allow what the
        // parameters need plus headroom instead of OpenSSL's 32 MiB default.
        try CryptoInitialization.requireConfiguration("scrypt")
        let needed = 128 &* UInt64(r) &* (n &+ UInt64(p) &+ 2)
        let maxMemory = needed &+ (1 << 20)
        return try SecureBytes(count: count) { out in
            let status = withNonNull(password) { password in
                salt.withUnsafeBytes { salt in
                    withNonNull(UnsafeRawBufferPointer(salt)) { salt in
                        miis_scrypt(
                            password.baseAddress, password.count, salt.baseAddress, salt.count,
                            n, r, p, maxMemory, out.baseAddress, out.count)
                    }
                }
            }
            try OpenSSLFailure.check(status, "scrypt")
        }
    }

    /// PBKDF2 with HMAC-SHA-256 and the given iteration count.
    package static func pbkdf2SHA256(
        password: UnsafeRawBufferPointer, salt: [UInt8], iterations: UInt64, count: Int
    ) throws -> SecureBytes {
        try CryptoInitialization.requireConfiguration("PBKDF2")
        return try SecureBytes(count: count) { out in
            let status = withNonNull(password) { password in
                salt.withUnsafeBytes { salt in
                    withNonNull(UnsafeRawBufferPointer(salt)) { salt in
                        miis_pbkdf2_sha256(
                            password.baseAddress, password.count, salt.baseAddress, salt.count,
                            iterations, out.baseAddress, out.count)
                    }
                }
            }
            try OpenSSLFailure.check(status, "PBKDF2-HMAC-SHA-256")
        }
    }
}
