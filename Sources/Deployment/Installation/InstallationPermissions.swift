import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH-style rules for the installation's own files: what others can write is refused, what
/// others can read warns.
///
/// The installation is **root-owned**: the installation directory, `Bin/`, `server.json`, `keys/`
/// and the files in `keys/` must each be owned by root (a tool run by another user, such as a test
/// or a non-root `keytool`, also accepts what that user owns, as OpenSSH's `StrictModes` does; for
/// `miisactivate`, which runs as root, that is root only), must not be writable by group or
/// others, and `Bin/`, `keys/` and the files must not be symbolic links. The tools in `Bin/` (or
/// what they link to) follow the same owner and mode rule. Any owner could replace
/// the installation's binaries or keys, a symlinked `keys/` would make root write the key set
/// wherever the link points, so each of these is refused as `unsafePermissions` (exit 31).
public enum InstallationPermissions {
    /// Refuses an installation whose directory, `server.json`, `Bin/`, `keys/` or installed
    /// files break the rules above; returns warnings for group/world-readable key material.
    /// Every entry is looked up in the installation directory opened once (`openat`, never
    /// following a symbolic link), so the names checked are the ones in that directory.
    public static func check(_ installation: ServerInstallation) throws -> [String] {
        let directory = try CheckedDirectory.open(installation.directory)
        _ = try directory.checkFile(ServerInstallation.configurationFileName, path: installation.configurationPath)
        if let bin = try directory.subdirectory(ServerInstallation.binDirectoryName, path: installation.binDirectory) {
            // Root runs these: whoever could rewrite one (or what a link there points to) could run as root.
            for tool in ServerInstallation.toolNames {
                try bin.checkTarget(tool, path: "\(installation.binDirectory)/\(tool)")
            }
        }
        var warnings: [String] = []
        guard let keys = try directory.subdirectory(ServerInstallation.keysDirectoryName, path: installation.keysDirectory) else {
            return warnings
        }
        if keys.mode & 0o077 != 0 {
            warnings.append("\(installation.keysDirectory) is accessible by group or others; it should be 0700")
        }
        if let mode = try keys.checkFile(ServerInstallation.installedKeyFileName, path: installation.installedKeyFilePath), mode & 0o044 != 0 {
            warnings.append(readableWarning(installation.installedKeyFilePath, mode: mode))
        }
        _ = try keys.checkFile(ServerInstallation.activationRecordFileName, path: installation.activationRecordPath)
        return warnings
    }

    /// Refuses a key file writable by group or others; warns when it is readable by them.
    public static func checkKeyFile(_ path: String) throws -> [String] {
        var status = stat()
        guard stat(path, &status) == 0 else { return [] }
        let mode = status.st_mode
        if mode & 0o022 != 0 {
            throw DeploymentError(.unsafePermissions,
                "\(path) is writable by group or others (mode \(octal(mode))): anyone could replace the keys; fix it with chmod 600")
        }
        return mode & 0o044 != 0 ? [readableWarning(path, mode: mode)] : []
    }

    /// Root, or the user this process runs as: see the rules above.
    static func isAcceptableOwner(_ uid: uid_t) -> Bool { uid == 0 || uid == geteuid() }

    /// Refuses `status` (of `path`) when another user owns it or group or others can write it.
    static func require(_ status: stat, path: String) throws {
        guard isAcceptableOwner(status.st_uid) else {
            let owner = OperatorIdentity.userName(status.st_uid).map { "\($0) (uid \(status.st_uid))" } ?? "uid \(status.st_uid)"
            throw DeploymentError(.unsafePermissions,
                "\(path) is owned by \(owner), not by root: its owner could replace the installation's files; fix it with chown root \(path)")
        }
        if status.st_mode & 0o022 != 0 {
            throw DeploymentError(.unsafePermissions,
                "\(path) is writable by group or others (mode \(octal(status.st_mode))): fix it with chmod go-w")
        }
    }

    static func octal(_ mode: mode_t) -> String { String(mode & 0o777, radix: 8) }

    private static func readableWarning(_ path: String, mode: mode_t) -> String {
        "\(path) is readable by group or others (mode \(octal(mode))); it should be 0600"
    }

}

/// A directory of the installation, opened once and checked through its descriptor (owner and
/// mode by `fstat`): entries are then looked up, created and replaced relative to that descriptor
/// (`openat`, `fstatat`, `mkdirat` with `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`), so a path that is
/// swapped for a symbolic link after the check is neither followed nor written through.
final class CheckedDirectory {
    let descriptor: Int32
    let path: String
    /// The permission bits when it was opened (after any `fchmod` of ours).
    let mode: mode_t

    private init(descriptor: Int32, path: String, mode: mode_t) {
        self.descriptor = descriptor
        self.path = path
        self.mode = mode
    }

    /// Takes ownership of `descriptor` (closed on failure) once its owner and mode pass.
    private static func checked(_ descriptor: Int32, path: String) throws -> CheckedDirectory {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw DeploymentError(.installation, "\(path): cannot stat: \(String(cString: strerror(code)))")
        }
        do { try InstallationPermissions.require(status, path: path) } catch {
            close(descriptor)
            throw error
        }
        return CheckedDirectory(descriptor: descriptor, path: path, mode: status.st_mode)
    }

    deinit { close(descriptor) }

    /// Opens and checks the installation directory. Its own path may go through symbolic links
    /// (the administrator chose it, e.g. `/opt/miis -> /srv/miis`); what is checked is the
    /// directory it leads to, and everything below it is reached through this descriptor.
    static func open(_ path: String) throws -> CheckedDirectory {
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw DeploymentError(.installation, "\(path): cannot open the installation directory: \(String(cString: strerror(errno)))")
        }
        return try checked(descriptor, path: path)
    }

    /// Opens and checks the subdirectory `name` (never through a symbolic link); `nil` when it
    /// does not exist and `create` is `nil`. With `create`, a missing subdirectory is made with
    /// exactly that mode (`fchmod` after `mkdirat`, whatever the umask).
    func subdirectory(_ name: String, path: String, create: mode_t? = nil) throws -> CheckedDirectory? {
        var created = false
        if let create {
            if mkdirat(descriptor, name, create) == 0 {
                created = true
            } else if errno != EEXIST {
                throw DeploymentError(.installation, "\(path): cannot create the directory: \(String(cString: strerror(errno)))")
            }
        }
        let opened = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard opened >= 0 else {
            let code = errno
            if code == ENOENT, create == nil { return nil }
            if code == ELOOP || code == ENOTDIR { try refuseNonDirectory(name, path: path) }
            throw DeploymentError(.installation, "\(path): cannot open the directory: \(String(cString: strerror(code)))")
        }
        if created, let create, fchmod(opened, create) != 0 {
            close(opened)
            throw DeploymentError(.installation, "\(path): cannot set mode \(String(create, radix: 8))")
        }
        return try Self.checked(opened, path: path)
    }

    /// Checks the entry `name` without following it: `nil` when it does not exist, else its mode.
    /// A symbolic link or anything but a regular file is refused, and so is a file owned by
    /// another user or writable by group or others.
    func checkFile(_ name: String, path: String) throws -> mode_t? {
        var status = stat()
        guard fstatat(descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return nil }
            throw DeploymentError(.installation, "\(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK:
            throw DeploymentError(.unsafePermissions, "\(path) is a symbolic link: refusing to follow it; it must be a regular file")
        default:
            throw DeploymentError(.unsafePermissions, "\(path) is not a regular file")
        }
        try InstallationPermissions.require(status, path: path)
        return status.st_mode
    }

    /// Checks what the entry `name` leads to, following a symbolic link (a tool in `Bin/` may be
    /// a link the administrator made; the link itself can only be changed by this directory's
    /// owner): its owner and mode, as ``InstallationPermissions`` requires. Missing: no check.
    func checkTarget(_ name: String, path: String) throws {
        var status = stat()
        guard fstatat(descriptor, name, &status, 0) == 0 else {
            if errno == ENOENT { return }
            throw DeploymentError(.installation, "\(path): cannot stat: \(String(cString: strerror(errno)))")
        }
        try InstallationPermissions.require(status, path: path)
    }

    /// Writes `name` atomically and durably in this very directory (``SecureFile`` relative to the
    /// descriptor), after checking what is there now.
    func write(_ bytes: [UInt8], named name: String, path: String, mode: mode_t, replace: Bool) throws {
        _ = try checkFile(name, path: path)
        try SecureFile.writeAtomically(bytes, named: name, in: descriptor, path: path, mode: mode, replace: replace)
    }

    private func refuseNonDirectory(_ name: String, path: String) throws -> Never {
        var status = stat()
        if fstatat(descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0, status.st_mode & S_IFMT == S_IFLNK {
            throw DeploymentError(.unsafePermissions, "\(path) is a symbolic link: refusing to follow it; it must be a real directory")
        }
        throw DeploymentError(.unsafePermissions, "\(path) is not a directory")
    }
}
