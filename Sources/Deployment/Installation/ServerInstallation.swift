import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// `server.json`: the facts about one server installation.
public struct ServerConfiguration: Codable, Sendable, Equatable {
    /// Bumped if the file's shape changes.
    public var configurationVersion: Int = 1
    public var serverName: String
    public var softwareVersion: String
    /// A SQLite file path, or a `postgres://` URL (never with a password in it).
    public var database: String
    /// The administrators' group (the reference's FIMSyncAdmin).
    public var adminGroup: String
    /// The service account, in canonical form.
    public var serviceAccount: ServiceAccount

    public init(serverName: String, softwareVersion: String, database: String, adminGroup: String, serviceAccount: ServiceAccount) {
        self.serverName = serverName
        self.softwareVersion = softwareVersion
        self.database = database
        self.adminGroup = adminGroup
        self.serviceAccount = serviceAccount
    }
}

/// A server installation directory (the reference's "InstallationDirectory"):
/// ```
/// <install>/server.json   this server's configuration
/// <install>/Bin/          keytool, miisactivate, miisserver
/// <install>/keys/         the installed key set (dir 0700, keys/keyset.bin 0600)
/// ```
public struct ServerInstallation: Sendable {
    public let directory: String
    public let configuration: ServerConfiguration

    public static let configurationFileName = "server.json"
    public static let environmentVariable = "MIIS_INSTALL_DIR"

    static let binDirectoryName = "Bin"
    /// The executables installed in `Bin/`.
    static let toolNames = ["keytool", "miisactivate", "miisserver"]
    static let keysDirectoryName = "keys"
    static let installedKeyFileName = "keyset.bin"

    public var configurationPath: String { "\(directory)/\(Self.configurationFileName)" }
    public var binDirectory: String { "\(directory)/\(Self.binDirectoryName)" }
    public var keysDirectory: String { "\(directory)/\(Self.keysDirectoryName)" }
    /// The installed key set: a key file sealed with the service account's credentials.
    public var installedKeyFilePath: String { "\(keysDirectory)/\(Self.installedKeyFileName)" }

    /// Loads and validates `<directory>/server.json`.
    public init(directory: String) throws {
        let directory = Self.absolute(directory)
        let path = "\(directory)/\(Self.configurationFileName)"
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DeploymentError(.installation, "\(directory): no such installation directory")
        }
        let bytes: [UInt8]
        do { bytes = try SecureFile.read(path, limit: 1 << 20) } catch let error as KeyFileError {
            throw DeploymentError(.installation, "\(path): cannot read the server configuration (\(error.message)); is this a server installation?")
        }
        let configuration: ServerConfiguration
        do { configuration = try JSONDecoder().decode(ServerConfiguration.self, from: Data(bytes)) } catch {
            throw DeploymentError(.installation, "\(path): invalid server configuration", remedy: .repairInstallation)
        }
        guard configuration.configurationVersion == 1 else {
            throw DeploymentError(.installation, "\(path): configuration version \(configuration.configurationVersion) is not supported")
        }
        guard !configuration.serverName.isEmpty, !configuration.database.isEmpty else {
            throw DeploymentError(.installation, "\(path): the server name and database must not be empty")
        }
        self.directory = directory
        self.configuration = configuration
    }

    /// Finds the installation, in this order:
    /// 1. the running executable's real location (`/proc/self/exe`): `<install>/Bin/<tool>` with
    ///    `<install>/server.json` beside `Bin/`, however the tool was started (a path, a bare name
    ///    from `PATH`, `sudo`, a symbolic link);
    /// 2. `explicit` (`--install-dir`);
    /// 3. `MIIS_INSTALL_DIR`.
    ///
    /// A tool installed in one installation operates on that one: an `explicit` directory naming
    /// another is refused rather than silently ignored (one of the two is a mistake). The
    /// environment variable is ambient (a unit file, a profile) and is only a fallback.
    public static func locate(explicit: String?, executablePath: String? = runningExecutablePath(),
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServerInstallation {
        let fromExecutable = executablePath.flatMap { installationDirectory(forExecutable: $0, requiringConfiguration: true) }
        return try ServerInstallation(directory: chooseDirectory(fromExecutable: fromExecutable, explicit: explicit, environment: environment))
    }

    /// The directory `miisserver setup` creates the installation in, chosen as ``locate(explicit:executablePath:environment:)``
    /// does, except that a tool run from a `Bin/` without `server.json` beside it yet (as `make
    /// install PREFIX=<install>` leaves it) sets up that `<install>` when no `explicit` directory
    /// is given; such a `Bin/` is not yet an installation, so an `explicit` one is no conflict.
    public static func directoryForSetup(explicit: String?, executablePath: String? = runningExecutablePath(),
                                         environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let explicit = explicit.flatMap { $0.isEmpty ? nil : $0 }
        let installed = executablePath.flatMap { installationDirectory(forExecutable: $0, requiringConfiguration: true) }
        let bin = executablePath.flatMap { installationDirectory(forExecutable: $0, requiringConfiguration: false) }
        return try chooseDirectory(fromExecutable: installed ?? (explicit == nil ? bin : nil), explicit: explicit, environment: environment)
    }

    private static func chooseDirectory(fromExecutable: String?, explicit: String?, environment: [String: String]) throws -> String {
        let explicit = explicit.flatMap { $0.isEmpty ? nil : $0 }
        if let fromExecutable {
            if let explicit, realPath(explicit) != fromExecutable {
                throw DeploymentError(.installation,
                    "--install-dir \(explicit) names another installation than the one this tool belongs to (\(fromExecutable)); run \(explicit)/\(binDirectoryName)'s tool, or leave out --install-dir")
            }
            return fromExecutable
        }
        if let explicit { return explicit }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty { return fromEnvironment }
        throw DeploymentError(.installation, "cannot find the server installation", remedy: .locateInstallation)
    }

    /// The running executable's real path: `/proc/self/exe` (the kernel's answer, symbolic links
    /// resolved, whatever `argv[0]` says), else `argv[0]` when it holds a path (no `/proc`).
    public static func runningExecutablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if count > 0 {
            return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        guard let first = ProcessArguments.programName, first.contains("/") else { return nil }
        return first
    }

    /// `<install>` when `executable` is `<install>/Bin/<tool>` (symbolic links resolved) and, if
    /// `requiringConfiguration`, `<install>/server.json` exists.
    static func installationDirectory(forExecutable executable: String, requiringConfiguration: Bool = true) -> String? {
        guard !executable.isEmpty else { return nil }
        let bin = (realPath(executable) as NSString).deletingLastPathComponent
        guard (bin as NSString).lastPathComponent == binDirectoryName else { return nil }
        let candidate = (bin as NSString).deletingLastPathComponent
        guard requiringConfiguration else { return candidate }
        return FileManager.default.fileExists(atPath: "\(candidate)/\(configurationFileName)") ? candidate : nil
    }

    private static func realPath(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// Writes `configuration` into `directory` (creating `Bin/` and `keys/`) atomically.
    ///
    /// Directories it creates get their modes explicitly, whatever the umask: the installation
    /// directory (and any missing parent) and `Bin/` 0755, `keys/` 0700, owned by the user running
    /// the setup (root). An existing installation directory, `Bin/` or `keys/` must already pass
    /// ``InstallationPermissions`` (owner, not writable by others, no symbolic link) or the setup is
    /// refused as `unsafePermissions`: a binary or key planted there beforehand would be trusted.
    public static func create(directory: String, configuration: ServerConfiguration, replace: Bool) throws -> ServerInstallation {
        let directory = absolute(directory)
        try makeDirectory(directory, mode: 0o755)
        let root = try CheckedDirectory.open(directory)
        _ = try root.subdirectory(binDirectoryName, path: "\(directory)/\(binDirectoryName)", create: 0o755)
        _ = try root.subdirectory(keysDirectoryName, path: "\(directory)/\(keysDirectoryName)", create: 0o700)
        try write(configuration, in: root, path: "\(directory)/\(configurationFileName)", replace: replace)
        return try ServerInstallation(directory: directory)
    }

    /// Replaces `server.json` atomically (used by repair mode), in the installation directory
    /// checked by ``InstallationPermissions``.
    public func updating(_ configuration: ServerConfiguration) throws -> ServerInstallation {
        try Self.write(configuration, in: CheckedDirectory.open(directory), path: configurationPath, replace: true)
        return try ServerInstallation(directory: directory)
    }

    private static func write(_ configuration: ServerConfiguration, in directory: CheckedDirectory, path: String, replace: Bool) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(configuration)
            try directory.write(Array(data) + [0x0A], named: configurationFileName, path: path, mode: 0o644, replace: replace)
        } catch let error as KeyFileError {
            throw DeploymentError(.installation, error.message)
        }
    }

    /// `mkdir -p` with `mode` set by `chmod` on each directory it makes (`mkdir` alone obeys the
    /// umask: under umask 000 the installation would be world-writable). Existing ones are left
    /// as they are, for ``CheckedDirectory/open(_:)`` to judge.
    private static func makeDirectory(_ path: String, mode: mode_t) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent, mode: mode) }
        if mkdir(path, mode) != 0 {
            guard errno == EEXIST else {
                throw DeploymentError(.installation, "\(path): cannot create the installation directory: \(String(cString: strerror(errno)))")
            }
            return
        }
        guard chmod(path, mode) == 0 else {
            throw DeploymentError(.installation, "\(path): cannot set mode \(String(mode, radix: 8))")
        }
    }

    private static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
