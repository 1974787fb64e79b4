/// Whether two key files hold the same key set, and if not, which keys differ.
///
/// Without credentials only the public headers can be compared (key-set ID and key index), which
/// says nothing certain about the key material. With both files opened, keys are compared by ID
/// and check value: equal check values mean equal material (to 64 bits), without revealing it.
public struct KeySetComparison: Codable, Sendable, Equatable {
    /// How one key differs between A and B.
    public struct KeyDifference: Codable, Sendable, Equatable {
        public var id: UInt32
        /// `only-in-a`, `only-in-b`, `material` (check values differ) or `attributes`
        /// (algorithm, status or primary flag differ).
        public var kind: String
        public var detail: String
    }

    public var schemaVersion = KeyFileReportSchema.currentSchemaVersion
    public var pathA: String
    public var pathB: String
    public var keySetIDA: String
    public var keySetIDB: String
    /// Whether the key material was compared (both files opened with credentials).
    public var materialCompared: Bool
    public var fingerprintA: String?
    public var fingerprintB: String?
    public var differences: [KeyDifference]

    /// Same key-set ID and no key differences.
    public var same: Bool { keySetIDA == keySetIDB && differences.isEmpty }

    /// Compares the public headers only.
    public init(pathA: String, _ a: KeyFileHeader, pathB: String, _ b: KeyFileHeader) {
        self.pathA = pathA
        self.pathB = pathB
        keySetIDA = a.keySetID.lowercasedString
        keySetIDB = b.keySetID.lowercasedString
        materialCompared = false
        differences = Self.compare(a.keys.map { ($0, nil) }, b.keys.map { ($0, nil) })
    }

    /// Compares two opened files, key material included (through check values).
    public init(pathA: String, _ a: KeyFile, pathB: String, _ b: KeyFile) {
        self.init(pathA: pathA, a.header, pathB: pathB, b.header)
        materialCompared = true
        fingerprintA = a.keySet.fingerprint
        fingerprintB = b.keySet.fingerprint
        differences = Self.compare(a.keySet.keys.map { ($0.descriptor, $0.checkValueHex) },
                                   b.keySet.keys.map { ($0.descriptor, $0.checkValueHex) })
    }

    private static func compare(_ a: [(KeyDescriptor, String?)], _ b: [(KeyDescriptor, String?)]) -> [KeyDifference] {
        let byIDB = Dictionary(b.map { ($0.0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let idsA = Set(a.map(\.0.id))
        var differences: [KeyDifference] = []
        for (descriptor, checkValue) in a {
            guard let (other, otherCheckValue) = byIDB[descriptor.id] else {
                differences.append(.init(id: descriptor.id.rawValue, kind: "only-in-a", detail: "key \(descriptor.id) is only in A"))
                continue
            }
            if let checkValue, let otherCheckValue, checkValue != otherCheckValue {
                differences.append(.init(id: descriptor.id.rawValue, kind: "material",
                                         detail: "key \(descriptor.id) has different material (check value \(checkValue) vs \(otherCheckValue))"))
            }
            var attributes: [String] = []
            if descriptor.algorithm != other.algorithm { attributes.append("algorithm \(descriptor.algorithm) vs \(other.algorithm)") }
            if descriptor.status != other.status { attributes.append("status \(descriptor.status) vs \(other.status)") }
            if descriptor.isPrimary != other.isPrimary { attributes.append(descriptor.isPrimary ? "primary only in A" : "primary only in B") }
            if !attributes.isEmpty {
                differences.append(.init(id: descriptor.id.rawValue, kind: "attributes", detail: "key \(descriptor.id): " + attributes.joined(separator: ", ")))
            }
        }
        for (descriptor, _) in b where !idsA.contains(descriptor.id) {
            differences.append(.init(id: descriptor.id.rawValue, kind: "only-in-b", detail: "key \(descriptor.id) is only in B"))
        }
        return differences.sorted { ($0.id, $0.kind) < ($1.id, $1.kind) }
    }
}
