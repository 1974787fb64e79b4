internal import COpenSSL

enum OpenSSLFailure {
    /// Drains OpenSSL's thread-local error queue into a typed error that carries its reason string.
    static func error(_ operation: String) -> KeyFileError {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let reason = reasons.isEmpty ? "no reason reported" : reasons.joined(separator: "; ")
        return KeyFileError(.cryptoFailure, code: "openssl", "OpenSSL \(operation) failed: \(reason)")
    }

    /// Throws the typed error unless `status` is OpenSSL's success value 1.
    static func check(_ status: Int32, _ operation: String) throws {
        guard status == 1 else { throw error(operation) }
    }
}
