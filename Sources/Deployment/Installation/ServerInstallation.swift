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

    public var configurationPath: String { "\(directory)/\(Self.configurationFileName)" }
    public var binDirectory: String { "\(directory)/Bin" }
    public var keysDirectory: String { "\(directory)/keys" }
    /// The installed key set: a key file sealed with the service account's credentials.
    public var installedKeyFilePath: String { "\(keysDirectory)/keyset.bin" }

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
            throw DeploymentError(.installation, "\(path): invalid server configuration; re-run miisserver setup --repair")
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

    /// Finds the installation the way `miisactivate` does: `--install-dir`, else the parent of
    /// the `Bin/` folder holding the running executable, else `MIIS_INSTALL_DIR`.
    public static func locate(explicit: String?, executablePath: String = CommandLine.arguments.first ?? "",
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ServerInstallation {
        if let explicit { return try ServerInstallation(directory: explicit) }
        if let fromExecutable = installationDirectory(forExecutable: executablePath) {
            return try ServerInstallation(directory: fromExecutable)
        }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            return try ServerInstallation(directory: fromEnvironment)
        }
        throw DeploymentError(.installation,
            "cannot find the server installation: run the tool from <install>/Bin, or pass --install-dir DIR, or set \(environmentVariable)")
    }

    /// `<install>` when `executable` is `<install>/Bin/<tool>` and `<install>/server.json` exists.
    static func installationDirectory(forExecutable executable: String) -> String? {
        guard !executable.isEmpty else { return nil }
        let resolved = URL(fileURLWithPath: executable).resolvingSymlinksInPath().path
        let bin = (resolved as NSString).deletingLastPathComponent
        guard (bin as NSString).lastPathComponent == "Bin" else { return nil }
        let candidate = (bin as NSString).deletingLastPathComponent
        return FileManager.default.fileExists(atPath: "\(candidate)/\(configurationFileName)") ? candidate : nil
    }

    /// Writes `configuration` into `directory` (creating `Bin/` and `keys/`) atomically.
    public static func create(directory: String, configuration: ServerConfiguration, replace: Bool) throws -> ServerInstallation {
        let directory = absolute(directory)
        do {
            try FileManager.default.createDirectory(atPath: "\(directory)/Bin", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: "\(directory)/keys", withIntermediateDirectories: true)
        } catch {
            throw DeploymentError(.installation, "\(directory): cannot create the installation directories")
        }
        guard chmod("\(directory)/keys", 0o700) == 0 else {
            throw DeploymentError(.installation, "\(directory)/keys: cannot set mode 0700")
        }
        try write(configuration, to: "\(directory)/\(configurationFileName)", replace: replace)
        return try ServerInstallation(directory: directory)
    }

    /// Replaces `server.json` atomically (used by repair mode).
    public func updating(_ configuration: ServerConfiguration) throws -> ServerInstallation {
        try Self.write(configuration, to: configurationPath, replace: true)
        return try ServerInstallation(directory: directory)
    }

    private static func write(_ configuration: ServerConfiguration, to path: String, replace: Bool) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            let data = try encoder.encode(configuration)
            try SecureFile.writeAtomically(Array(data) + [0x0A], to: path, mode: 0o644, replace: replace)
        } catch let error as KeyFileError {
            throw DeploymentError(.installation, error.message)
        }
    }

    private static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
