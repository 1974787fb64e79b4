#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// An opened key file: its authenticated header and the key set it protects.
///
/// Writing is deterministic: the salt and nonce live in the header, so
/// `try KeyFile(...).serialized(with:)` of a file just opened reproduces its bytes exactly.
public struct KeyFile: Sendable {
    public let header: KeyFileHeader
    public let keySet: KeySet

    /// Pairs a header with the key set it describes; they must agree on ID and key index.
    ///
    /// The header carries the salt and the AES-GCM nonce. Serializing a *different* key set (other
    /// key material) under a header already used with the same credentials would reuse a nonce
    /// under the same key; for new content use ``init(keySet:account:sourceServer:kdf:policy:createdAt:comment:)``
    /// or ``reprotected(account:kdf:policy:createdAt:)``, which draw a fresh salt and nonce.
    init(header: KeyFileHeader, keySet: KeySet) throws {
        guard header.keySetID == keySet.id, header.keys == keySet.descriptors, header.generation == keySet.generation else {
            throw KeyFileError.invalidInput("header", "the header's key-set ID, generation or key index does not match the key set")
        }
        self.header = header
        self.keySet = keySet
    }

    /// A new file for `keySet` under `credentials`, with a fresh random salt and nonce.
    /// The KDF parameters are checked against the floor and ceiling unless `policy` allows weak ones.
    public init(
        keySet: KeySet, account: ServiceAccount, sourceServer: String,
        kdf: KDFParameters = .recommended, policy: KDFParameters.Policy = .standard,
        createdAt: Int64 = Int64(Date().timeIntervalSince1970), comment: String? = nil
    ) throws {
        try kdf.check(policy)
        var header = KeyFileHeader(
            keySetID: keySet.id, createdAt: createdAt, sourceServer: sourceServer, account: account,
            kdf: kdf, salt: try SecureRandom.bytes(count: KeyFileHeader.saltSize),
            nonce: try SecureRandom.bytes(count: AES256GCM.nonceSize), keys: keySet.descriptors, comment: comment)
        header.generation = keySet.generation
        try self.init(header: header, keySet: keySet)
    }

    /// The same keys re-protected for other credentials or KDF parameters, with a fresh salt and
    /// nonce (a salt or nonce is never reused with different contents).
    public func reprotected(
        account: ServiceAccount, kdf: KDFParameters, policy: KDFParameters.Policy = .standard,
        createdAt: Int64 = Int64(Date().timeIntervalSince1970)
    ) throws -> KeyFile {
        try KeyFile(keySet: keySet, account: account, sourceServer: header.sourceServer, kdf: kdf, policy: policy,
                    createdAt: createdAt, comment: header.comment)
    }

    /// The file's bytes under `credentials`, whose account must be the header's.
    public func serialized(with credentials: Credentials) throws -> [UInt8] {
        guard credentials.account == header.account else {
            throw KeyFileError.invalidInput("account", "the credentials' account '\(credentials.account)' is not the header's '\(header.account)'")
        }
        let fields = try header.encodedFields()
        guard fields.count <= SealedKeyFile.maximumHeaderSize else {
            throw KeyFileError.invalidInput("header-size", "the header would exceed \(SealedKeyFile.maximumHeaderSize) bytes")
        }
        var writer = ByteWriter(capacity: SealedKeyFile.minimumSize + fields.count + SealedKeyFile.payloadPlaintextSize(keyCount: keySet.keys.count))
        writer.write(KeyFileFormat.magic)
        writer.write(header.majorVersion)
        writer.write(header.minorVersion)
        writer.write(UInt32(fields.count))
        writer.write(fields)
        let prefix = writer.bytes

        let keys = try DerivedKeys(kdf: header.kdf, salt: header.salt, credentials: credentials)
        writer.write(try keys.headerMAC(over: prefix[...]))
        let plaintext = try KeyFilePayload.encode(keySet)
        let sealed = try plaintext.withUnsafeBytes {
            try AES256GCM.seal($0, key: keys.payloadKey, nonce: header.nonce, associatedData: prefix)
        }
        writer.write(UInt32(sealed.count))
        writer.write(sealed)
        writer.write(try SHA256.hash(writer.bytes))
        return writer.bytes
    }
}
