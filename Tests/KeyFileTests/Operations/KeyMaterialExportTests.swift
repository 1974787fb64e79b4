import Foundation
import Testing
@testable import KeyFile

@Suite struct KeyMaterialExportTests {
    @Test func jwkSetFollowsRFC7517WithUnpaddedBase64URL() throws {
        let keySet = try KeySet(id: UUID(), keys: [
            try Key(descriptor: KeyDescriptor(id: KeyID(rawValue: 1), algorithm: .aes256GCM, status: .active, createdAt: 0, isPrimary: true),
                    material: SecureBytes([UInt8](repeating: 0xFB, count: 32))),
            try Key(descriptor: KeyDescriptor(id: KeyID(rawValue: 7), algorithm: .hmacSHA256, status: .retired, createdAt: 0, isPrimary: false),
                    material: SecureBytes(Array(0..<32))),
        ])
        let text = String(decoding: KeyMaterialExport.export(keySet, format: .jwk).unsafeCopyToArray(), as: UTF8.self)
        struct JWKSet: Decodable { struct JWK: Decodable { let kty, kid, alg, k: String }; let keys: [JWK] }
        let decoded = try JSONDecoder().decode(JWKSet.self, from: Data(text.utf8))
        #expect(decoded.keys.map(\.kid) == ["1", "7"])
        #expect(decoded.keys.map(\.alg) == ["A256GCM", "HS256"])
        #expect(decoded.keys.allSatisfy { $0.kty == "oct" })
        for (jwk, key) in zip(decoded.keys, keySet.keys) {
            let expected = Data(key.material.unsafeCopyToArray()).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(jwk.k == expected)
            #expect(!jwk.k.contains("="))
        }
        #expect(text.hasSuffix("]}\n"))
    }

    @Test func hexFormatIsOneLinePerKey() throws {
        let keySet = try KeySet.generate(count: 2)
        let text = String(decoding: KeyMaterialExport.export(keySet, format: .hex).unsafeCopyToArray(), as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0] == "1 AES-256-GCM active primary \(keySet.keys[0].material.unsafeCopyToArray().hexString)")
        #expect(lines[1].hasPrefix("2 AES-256-GCM active - "))
    }
}
