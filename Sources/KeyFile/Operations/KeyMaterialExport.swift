/// Key material in the clear, for migration to another system. The output is built inside
/// ``SecureBytes`` so it is wiped once written; callers must only ever write it to a 0600 file or
/// to a non-terminal stdout the user asked for explicitly.
public enum KeyMaterialExport {
    /// The export formats.
    public enum Format: String, Sendable, CaseIterable {
        /// A JWK set (RFC 7517): `{"keys":[{"kty":"oct","kid":"1","alg":"A256GCM","k":"…"}]}`,
        /// `k` in base64url without padding (RFC 7515 §2), `alg` per RFC 7518
        /// (`A256GCM` for AES-256-GCM keys, `HS256` for HMAC-SHA-256 keys).
        case jwk
        /// One line per key: `<key ID> <algorithm> <status> <primary|-> <material in lowercase hex>`.
        case hex
    }

    /// The JWA `alg` name of a key algorithm.
    public static func jwaName(_ algorithm: KeyAlgorithm) -> String {
        switch algorithm {
        case .aes256GCM: return "A256GCM"
        case .hmacSHA256: return "HS256"
        }
    }

    /// The key set's material in `format`, ending with a newline.
    public static func export(_ keySet: KeySet, format: Format) -> SecureBytes {
        var pieces: [Piece] = []
        switch format {
        case .jwk:
            pieces.append(.text("{\"keys\":["))
            for (index, key) in keySet.keys.enumerated() {
                if index > 0 { pieces.append(.text(",")) }
                pieces.append(.text("{\"kty\":\"oct\",\"kid\":\"\(key.id)\",\"alg\":\"\(jwaName(key.descriptor.algorithm))\",\"k\":\""))
                pieces.append(.base64URL(key.material))
                pieces.append(.text("\"}"))
            }
            pieces.append(.text("]}\n"))
        case .hex:
            for key in keySet.keys {
                let descriptor = key.descriptor
                pieces.append(.text("\(key.id) \(descriptor.algorithm) \(descriptor.status) \(descriptor.isPrimary ? "primary" : "-") "))
                pieces.append(.hex(key.material))
                pieces.append(.text("\n"))
            }
        }
        let size = pieces.reduce(0) { $0 + $1.size }
        return SecureBytes(count: size) { out in
            var offset = 0
            func put(_ byte: UInt8) { out[offset] = byte; offset += 1 }
            for piece in pieces {
                switch piece {
                case let .text(text): for byte in text.utf8 { put(byte) }
                case let .hex(secret):
                    secret.withUnsafeBytes { for byte in $0 { put(hexDigits[Int(byte >> 4)]); put(hexDigits[Int(byte & 0x0F)]) } }
                case let .base64URL(secret):
                    secret.withUnsafeBytes { bytes in
                        var index = 0
                        while index < bytes.count {
                            let remaining = bytes.count - index
                            let b0 = UInt32(bytes[index])
                            let b1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
                            let b2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
                            let group = (b0 << 16) | (b1 << 8) | b2
                            put(base64URLDigits[Int((group >> 18) & 63)])
                            put(base64URLDigits[Int((group >> 12) & 63)])
                            if remaining > 1 { put(base64URLDigits[Int((group >> 6) & 63)]) }
                            if remaining > 2 { put(base64URLDigits[Int(group & 63)]) }
                            index += 3
                        }
                    }
                }
            }
        }
    }

    private enum Piece {
        case text(String)
        case hex(SecureBytes)
        case base64URL(SecureBytes)

        var size: Int {
            switch self {
            case let .text(text): return text.utf8.count
            case let .hex(secret): return secret.count * 2
            case let .base64URL(secret): return (secret.count * 4 + 2) / 3
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let base64URLDigits = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
}
