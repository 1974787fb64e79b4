/// A password as the bytes the KDF sees: UTF-8 after Unicode NFC normalization, so that the same
/// password typed on systems that compose accents differently opens the same file.
public struct Password: Sendable, CustomStringConvertible {
    public static let maximumLength = 1024

    /// The normalized UTF-8 bytes, wiped when the last copy goes away.
    public let bytes: SecureBytes

    /// Normalizes `text`. Swift strings cannot be wiped; callers reading passwords should prefer
    /// ``init(utf8:)`` with a buffer they wipe themselves. A password is one line: a CR or LF
    /// anywhere is refused (format section 5.1), so no input can be read two ways.
    public init(_ text: String) throws {
        guard !text.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) else {
            throw KeyFileError.invalidInput("password", "the password holds a line break (CR or LF); a password is one line, and input of more than one line is refused rather than cut")
        }
        // Two passes over the normalizer (count, then fill) so the normalized password exists only
        // in the wiped buffer, never in an intermediate String or array.
        var count = 0
        UnicodeNormalization.forEachNFCByte(of: text) { _ in count += 1 }
        guard count > 0 else {
            throw KeyFileError.invalidInput("password", "the password is empty")
        }
        guard count <= Self.maximumLength else {
            throw KeyFileError.invalidInput("password", "the password is longer than \(Self.maximumLength) bytes")
        }
        bytes = SecureBytes(count: count) { out in
            var offset = 0
            UnicodeNormalization.forEachNFCByte(of: text) { byte in
                // The normalizer is deterministic, so the second pass yields the same count.
                if offset < out.count { out[offset] = byte }
                offset += 1
            }
        }
    }

    /// Decodes and normalizes raw bytes (a password file's whole content, standard input to its
    /// end, or a typed line): one final `\r\n` or `\n` is removed, nothing else; what remains
    /// must be one line (format section 5.1). Invalid UTF-8 is refused rather than repaired.
    public init(utf8 raw: SecureBytes) throws {
        let text: String? = raw.withUnsafeBytes { buffer in
            var end = buffer.count
            // Only a CR that belongs to a final CR LF goes; a lone trailing CR is part of the password.
            if end > 0, buffer[end - 1] == 0x0A {
                end -= 1
                if end > 0, buffer[end - 1] == 0x0D { end -= 1 }
            }
            return String(validating: UnsafeRawBufferPointer(rebasing: buffer[0..<end]), as: UTF8.self)
        }
        guard let text else {
            throw KeyFileError.invalidInput("password", "the password is not valid UTF-8")
        }
        try self.init(text)
    }

    public var description: String { "Password(redacted)" }
}

/// What opens a key file: the service account and its password, both normalized.
public struct Credentials: Sendable, CustomStringConvertible {
    public let account: ServiceAccount
    public let password: Password

    public init(account: ServiceAccount, password: Password) {
        self.account = account
        self.password = password
    }

    public var description: String { "Credentials(account: \(account), password: redacted)" }
}
