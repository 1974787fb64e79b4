/// The registry of header fields. On the wire a field is `type (u16) | length (u32) | value`;
/// the top bit of `type` is the critical flag, the low 15 bits the field number. Fields appear in
/// strictly ascending field-number order, which makes duplicates and reorderings non-canonical.
enum HeaderField: UInt16, CaseIterable {
    case keySetID = 1
    case createdAt = 2
    case sourceServer = 3
    case account = 4
    case kdf = 5
    case cipher = 6
    case keyIndex = 7
    case comment = 8
    /// The key set's generation (u32, at least 2); absent for generation 1. See ``KeySet/generation``.
    case generation = 9

    static let criticalFlag: UInt16 = 0x8000
    /// The longest unregistered non-critical field a reader skips (and a writer preserves).
    static let unknownFieldMaximumLength = 4096

    /// One more than the highest registered field number: the size of a table indexed by number.
    static let numberLimit = Int(allCases.map(\.rawValue).max() ?? 0) + 1

    /// A reader that does not know a critical field must refuse the file; a non-critical one may
    /// be skipped. Everything the cryptography depends on is critical.
    var isCritical: Bool {
        switch self {
        // The generation is informational for a reader: it changes nothing it decrypts, the header
        // MAC and the payload's associated data authenticate it, and a deployment tells a stale
        // backup by its fingerprint as well. Non-critical, a format-1 reader that predates it still
        // opens rotated files (skipping it), and generation-1 files never carry it.
        case .sourceServer, .comment, .generation: return false
        default: return true
        }
    }

    var isRequired: Bool { self != .comment && self != .generation }

    var wireType: UInt16 { rawValue | (isCritical ? Self.criticalFlag : 0) }

    /// The largest value each field may have, checked before the value is read.
    var maximumLength: Int {
        switch self {
        case .keySetID: return 16
        case .createdAt: return 8
        case .sourceServer: return 255
        case .account: return ServiceAccount.maximumLength
        case .kdf: return 42
        case .cipher: return 13
        case .keyIndex: return 2 + KeySet.maximumKeyCount * KeyFileHeader.indexEntrySize
        case .comment: return 1024
        case .generation: return 4
        }
    }
}

/// A header field this reader does not know but may skip (non-critical). Kept so that a
/// read-then-write round trip reproduces the file byte for byte.
public struct UnknownHeaderField: Hashable, Sendable {
    /// The wire type, critical bit clear.
    public let type: UInt16
    public let value: [UInt8]
}
