import KeyFile

/// Which database schema each software version needs. A server whose version maps to another
/// schema than the database holds is the reference's `Exception: 0x80230443` case: one server
/// was updated (a "service pack") and the other was not.
public enum SchemaCatalog {
    /// The schema version this build creates and expects.
    public static let current = 4

    /// Software versions are `MAJOR.MINOR.PATCH`; the schema follows `MAJOR.MINOR`. Release 1.3
    /// (schema 4: the key set's life) is this build; 1.0 to 1.2 are kept so that mixed-version deployments, the
    /// reference's un-updated standby, can be set up and detected.
    public static let schemaForRelease: [String: Int] = [
        "1.0": 1,
        "1.1": 2,
        "1.2": 3,
        "1.3": 4,
    ]

    /// The software version this build installs by default: the toolkit's release.
    public static let currentSoftwareVersion = ToolkitRelease.version

    /// The schema `softwareVersion` needs, or `nil` for a version this build does not know.
    public static func schema(forSoftwareVersion softwareVersion: String) -> Int? {
        let parts = softwareVersion.split(separator: ".")
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return schemaForRelease["\(parts[0]).\(parts[1])"]
    }
}
