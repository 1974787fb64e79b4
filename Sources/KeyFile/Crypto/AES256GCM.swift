internal import COpenSSL

/// AES-256-GCM authenticated encryption (NIST SP 800-38D) through OpenSSL's EVP cipher interface.
public enum AES256GCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    /// Encrypts `plaintext`, authenticating `associatedData` too. Returns ciphertext followed by
    /// the 16-byte tag.
    package static func seal(
        _ plaintext: UnsafeRawBufferPointer, key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws -> [UInt8] {
        try CryptoInitialization.requireConfiguration("AES-256-GCM")
        try checkSizes(key: key, nonce: nonce)
        let context = try CipherContext()
        var output = [UInt8](repeating: 0, count: plaintext.count + tagSize)
        try key.withUnsafeBytes { key in
            try OpenSSLFailure.check(EVP_EncryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil), "AES-GCM init")
            try OpenSSLFailure.check(EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceSize), nil), "AES-GCM IV length")
            try OpenSSLFailure.check(
                EVP_EncryptInit_ex(context.pointer, nil, nil, key.bindMemory(to: UInt8.self).baseAddress, nonce), "AES-GCM key")
        }
        try context.addAssociatedData(associatedData, encrypting: true)
        var written: Int32 = 0
        try output.withUnsafeMutableBufferPointer { out in
            guard let outBase = out.baseAddress else { return }
            if plaintext.count > 0, let input = plaintext.baseAddress {
                try OpenSSLFailure.check(
                    EVP_EncryptUpdate(context.pointer, outBase, &written, input.assumingMemoryBound(to: UInt8.self), Int32(plaintext.count)),
                    "AES-GCM encrypt")
            }
            var finalLength: Int32 = 0
            try OpenSSLFailure.check(EVP_EncryptFinal_ex(context.pointer, outBase + Int(written), &finalLength), "AES-GCM final")
            try OpenSSLFailure.check(
                EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_GET_TAG, Int32(tagSize), outBase + plaintext.count), "AES-GCM tag")
        }
        return output
    }

    public static func seal(_ plaintext: [UInt8], key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        try plaintext.withUnsafeBytes { try seal($0, key: key, nonce: nonce, associatedData: associatedData) }
    }

    /// Decrypts and verifies `sealed` (ciphertext followed by tag). Returns `nil` when
    /// authentication fails, so callers decide which error that is in their context.
    public static func open(
        _ sealed: ArraySlice<UInt8>, key: SecureBytes, nonce: [UInt8], associatedData: [UInt8]
    ) throws -> SecureBytes? {
        try CryptoInitialization.requireConfiguration("AES-256-GCM")
        try checkSizes(key: key, nonce: nonce)
        guard sealed.count >= tagSize else { return nil }
        let ciphertextCount = sealed.count - tagSize
        let context = try CipherContext()
        try key.withUnsafeBytes { key in
            try OpenSSLFailure.check(EVP_DecryptInit_ex(context.pointer, EVP_aes_256_gcm(), nil, nil, nil), "AES-GCM init")
            try OpenSSLFailure.check(EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_IVLEN, Int32(nonceSize), nil), "AES-GCM IV length")
            try OpenSSLFailure.check(
                EVP_DecryptInit_ex(context.pointer, nil, nil, key.bindMemory(to: UInt8.self).baseAddress, nonce), "AES-GCM key")
        }
        try context.addAssociatedData(associatedData, encrypting: false)
        var authentic = false
        let plaintext = try SecureBytes(count: ciphertextCount) { out in
            try sealed.withUnsafeBytes { input in
                guard let inputBase = input.baseAddress else { return }
                let outBase = out.bindMemory(to: UInt8.self).baseAddress
                var written: Int32 = 0
                if ciphertextCount > 0 {
                    try OpenSSLFailure.check(
                        EVP_DecryptUpdate(context.pointer, outBase, &written, inputBase.assumingMemoryBound(to: UInt8.self), Int32(ciphertextCount)),
                        "AES-GCM decrypt")
                }
                var tag = Array(input[ciphertextCount...])
                try OpenSSLFailure.check(EVP_CIPHER_CTX_ctrl(context.pointer, EVP_CTRL_GCM_SET_TAG, Int32(tagSize), &tag), "AES-GCM set tag")
                var finalLength: Int32 = 0
                var scratch = [UInt8](repeating: 0, count: 16)
                authentic = EVP_DecryptFinal_ex(context.pointer, &scratch, &finalLength) == 1
                // A failed tag check leaves an error on OpenSSL's queue; it is expected, not reported.
                ERR_clear_error()
            }
        }
        return authentic ? plaintext : nil
    }

    private static func checkSizes(key: SecureBytes, nonce: [UInt8]) throws {
        guard key.count == keySize else {
            throw KeyFileError.invalidInput("aes-key-size", "AES-256-GCM needs a 32-byte key, got \(key.count)")
        }
        guard nonce.count == nonceSize else {
            throw KeyFileError.invalidInput("aes-nonce-size", "AES-256-GCM needs a 12-byte nonce, got \(nonce.count)")
        }
    }
}

/// An `EVP_CIPHER_CTX`, freed (and so wiped by OpenSSL) when the object goes away.
private final class CipherContext {
    let pointer: OpaquePointer

    init() throws {
        guard let pointer = EVP_CIPHER_CTX_new() else { throw OpenSSLFailure.error("EVP_CIPHER_CTX_new") }
        self.pointer = pointer
    }

    deinit { EVP_CIPHER_CTX_free(pointer) }

    func addAssociatedData(_ data: [UInt8], encrypting: Bool) throws {
        guard !data.isEmpty else { return }
        guard data.count <= Int(Int32.max) else {
            throw KeyFileError.invalidInput("aad-size", "associated data of \(data.count) bytes is too large")
        }
        var ignored: Int32 = 0
        let status = encrypting
            ? EVP_EncryptUpdate(pointer, nil, &ignored, data, Int32(data.count))
            : EVP_DecryptUpdate(pointer, nil, &ignored, data, Int32(data.count))
        try OpenSSLFailure.check(status, "AES-GCM associated data")
    }
}
