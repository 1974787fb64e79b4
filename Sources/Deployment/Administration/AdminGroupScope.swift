import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the administrators' group lives. The reference warns that a *local* admin group breaks
/// administration after a standby is activated: the group should be a directory (domain) group.
public enum AdminGroupScope: String, Codable, Sendable {
    /// Defined in the local group file (`/etc/group`).
    case local
    /// Not in the local file but resolved by NSS (LDAP, SSSD, ...): a directory group.
    case directory
    /// Resolved nowhere.
    case missing

    /// Classifies `name`: local when `groupFile` defines it, directory when only `getgrnam`
    /// resolves it, missing otherwise.
    public static func resolve(_ name: String, groupFile: String = "/etc/group") -> AdminGroupScope {
        if localGroupNames(groupFile: groupFile).contains(name) { return .local }
        return name.withCString { getgrnam($0) } != nil ? .directory : .missing
    }

    /// The reference's warning about the administrators' group `group` of this scope (after a
    /// setup, a repair or an activation), or `nil` for a directory group.
    public func warning(group: String) -> DeploymentWarning? {
        switch self {
        case .directory:
            return nil
        case .local:
            return DeploymentWarning(
                "the administrators' group '\(group)' is a local group, not a directory (domain) group: administrators of the old primary may be unable to manage this server after a failover",
                remedy: .repairAdminGroup)
        case .missing:
            return DeploymentWarning("the administrators' group '\(group)' does not exist on this host", remedy: .repairAdminGroup)
        }
    }

    /// The group names defined in a `group(5)` file; an unreadable file defines none.
    public static func localGroupNames(groupFile: String) -> Set<String> {
        guard let text = try? String(contentsOfFile: groupFile, encoding: .utf8) else { return [] }
        var names = Set<String>()
        for line in text.split(whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // NIS compat entries (+name, -name) and comments are not local definitions.
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("+"), !trimmed.hasPrefix("-") else { continue }
            let name = trimmed.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
            if !name.isEmpty { names.insert(String(name)) }
        }
        return names
    }
}
