import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH-style permission rules: what others can write is refused, what others can read warns.
public enum InstallationPermissions {
    /// Refuses an installation whose directory, `server.json` or `keys/` is group- or
    /// world-writable; returns warnings for group/world-readable key material.
    public static func check(_ installation: ServerInstallation) throws -> [String] {
        for path in [installation.directory, installation.configurationPath, installation.keysDirectory] {
            guard let mode = mode(of: path) else { continue }
            if mode & 0o022 != 0 {
                throw DeploymentError(.unsafePermissions,
                    "\(path) is writable by group or others (mode \(String(mode & 0o777, radix: 8))): fix it with chmod go-w before activating")
            }
        }
        var warnings: [String] = []
        if let mode = mode(of: installation.keysDirectory), mode & 0o077 != 0 {
            warnings.append("\(installation.keysDirectory) is accessible by group or others; it should be 0700")
        }
        if FileManager.default.fileExists(atPath: installation.installedKeyFilePath) {
            warnings += try checkKeyFile(installation.installedKeyFilePath)
        }
        return warnings
    }

    /// Refuses a key file writable by group or others; warns when it is readable by them.
    public static func checkKeyFile(_ path: String) throws -> [String] {
        guard let mode = mode(of: path) else { return [] }
        if mode & 0o022 != 0 {
            throw DeploymentError(.unsafePermissions,
                "\(path) is writable by group or others (mode \(String(mode & 0o777, radix: 8))): anyone could replace the keys; fix it with chmod 600")
        }
        if mode & 0o044 != 0 {
            return ["\(path) is readable by group or others (mode \(String(mode & 0o777, radix: 8))); it should be 0600"]
        }
        return []
    }

    static func mode(of path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode
    }
}
