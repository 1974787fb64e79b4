internal import COpenSSL

/// HKDF with SHA-256 (RFC 5869), extract then expand, through OpenSSL's EVP_KDF.
public enum HKDFSHA256 {
    /// Derives `count` bytes from `inputKey`, an optional `salt` (empty means none) and `info`.
    package static func deriveKey(
        from inputKey: UnsafeRawBufferPointer, salt: [UInt8] = [], info: [UInt8], count: Int
    ) throws -> SecureBytes {
        try CryptoInitialization.requireConfiguration("HKDF-SHA-256")
        guard count > 0, count <= 255 * 32 else {
            throw KeyFileError.invalidInput("hkdf-length", "HKDF-SHA-256 output length \(count) is outside 1...8160")
        }
        return try SecureBytes(count: count) { out in
            let status = withNonNull(inputKey) { ikm in
                salt.withUnsafeBytes { salt in
                    withNonNull(UnsafeRawBufferPointer(salt)) { salt in
                        info.withUnsafeBytes { info in
                            withNonNull(UnsafeRawBufferPointer(info)) { info in
                                miis_hkdf_sha256(
                                    ikm.baseAddress, ikm.count, salt.baseAddress, salt.count,
                                    info.baseAddress, info.count, out.baseAddress, out.count)
                            }
                        }
                    }
                }
            }
            try OpenSSLFailure.check(status, "HKDF-SHA-256")
        }
    }

    public static func deriveKey(from inputKey: SecureBytes, salt: [UInt8] = [], info: [UInt8], count: Int) throws -> SecureBytes {
        try inputKey.withUnsafeBytes { try deriveKey(from: $0, salt: salt, info: info, count: count) }
    }
}
