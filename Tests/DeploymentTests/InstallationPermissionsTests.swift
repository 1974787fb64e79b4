import Deployment
import Foundation
import KeyFile
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The installation's own files cannot subvert it: modes set whatever the umask, owners checked,
/// symbolic links never followed, and writes made through the checked directory's descriptor.
/// These tests run as root (like the suite), with uid 65534 (`nobody`) as the hostile user.
@Suite("Installation permissions", .serialized)
struct InstallationPermissionsTests {
    static let nobody: uid_t = 65534
    let root: String
    let password: Password

    init() throws {
        root = try temporaryDirectory()
        password = try Password("correct horse")
    }

    /// A primary set up in `<root>/alpha` (key set installed, activation recorded).
    func primary() async throws -> ServerInstallation {
        try await DeploymentAdministration.setup(try AdministrationTests.request(root, "alpha", .primary), password: password).installation
    }

    func mode(_ path: String) -> mode_t? {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
    }

    func owner(_ path: String) -> uid_t? {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_uid : nil
    }

    /// The error `body` throws, if it is a ``DeploymentError``.
    func deploymentError(_ body: () throws -> Void) -> DeploymentError? {
        do { try body() } catch let error as DeploymentError { return error } catch {
            Issue.record("expected a DeploymentError, got \(error)")
        }
        return nil
    }

    @Test func createSetsModesWhateverTheUmask() throws {
        let directory = root + "/new/install"
        let configuration = ServerConfiguration(serverName: "alpha", softwareVersion: SchemaCatalog.currentSoftwareVersion,
                                                database: root + "/db.sqlite", adminGroup: "root", serviceAccount: try ServiceAccount("CORP\\svc"))
        let previous = umask(0)
        let created = Result { try ServerInstallation.create(directory: directory, configuration: configuration, replace: false) }
        umask(previous)
        let installation = try created.get()
        #expect(mode(root + "/new") == 0o755)
        #expect(mode(installation.directory) == 0o755)
        #expect(mode(installation.binDirectory) == 0o755)
        #expect(mode(installation.keysDirectory) == 0o700)
        #expect(mode(installation.configurationPath) == 0o644)
        #expect(owner(installation.directory) == geteuid() && owner(installation.binDirectory) == geteuid())
        #expect(try InstallationPermissions.check(installation).isEmpty)
    }

    /// An existing directory someone else owns, or others can write, is not adopted as an installation.
    @Test func createRefusesADirectoryOthersControl() throws {
        let configuration = ServerConfiguration(serverName: "alpha", softwareVersion: SchemaCatalog.currentSoftwareVersion,
                                                database: root + "/db.sqlite", adminGroup: "root", serviceAccount: try ServiceAccount("CORP\\svc"))
        let owned = root + "/owned"
        try FileManager.default.createDirectory(atPath: owned, withIntermediateDirectories: false)
        #expect(chown(owned, Self.nobody, Self.nobody) == 0)
        let error = deploymentError { _ = try ServerInstallation.create(directory: owned, configuration: configuration, replace: false) }
        #expect(error?.kind == .unsafePermissions)
        #expect(error?.message.contains("\(owned) is owned by nobody (uid 65534), not by root") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: owned + "/server.json"))

        let planted = root + "/planted"
        try FileManager.default.createDirectory(atPath: planted + "/Bin", withIntermediateDirectories: true)
        chmod(planted + "/Bin", 0o777)
        let binError = deploymentError { _ = try ServerInstallation.create(directory: planted, configuration: configuration, replace: false) }
        #expect(binError?.kind == .unsafePermissions)
        #expect(binError?.message.contains("\(planted)/Bin is writable by group or others (mode 777)") == true, "\(binError?.message ?? "")")
    }

    /// keys/ replaced by a symbolic link: the check refuses it, and so does every write of the
    /// installation (key set, activation record); the link's target keeps its mode and contents.
    @Test func symlinkedKeysDirectoryIsNeverFollowed() async throws {
        let installation = try await primary()
        let file = try installation.openInstalledKeySet(password: password, policy: .allowWeak)
        let decoy = root + "/decoy"
        try FileManager.default.createDirectory(atPath: decoy, withIntermediateDirectories: false)
        chmod(decoy, 0o755)
        try FileManager.default.removeItem(atPath: installation.keysDirectory)
        try FileManager.default.createSymbolicLink(atPath: installation.keysDirectory, withDestinationPath: decoy)

        let checked = deploymentError { _ = try InstallationPermissions.check(installation) }
        #expect(checked?.kind == .unsafePermissions)
        #expect(checked?.message == "\(installation.keysDirectory) is a symbolic link: refusing to follow it; it must be a real directory")
        let credentials = Credentials(account: installation.configuration.serviceAccount, password: password)
        #expect(deploymentError { try installation.installKeySet(file, credentials: credentials, replace: true) }?.kind == .unsafePermissions)
        #expect(deploymentError { try installation.installKeyFile(try file.serialized(with: credentials), replace: true) }?.kind == .unsafePermissions)
        #expect(deploymentError { try installation.recordActivation(epoch: 2, keySetID: file.keySet.id, at: Date()) }?.kind == .unsafePermissions)
        #expect(try FileManager.default.contentsOfDirectory(atPath: decoy).isEmpty)
        #expect(mode(decoy) == 0o755)
    }

    /// A key file or activation record that is a symbolic link is refused, not read through or replaced.
    @Test func symlinkedFilesAreRefused() async throws {
        let installation = try await primary()
        let elsewhere = root + "/elsewhere.bin"
        try FileManager.default.moveItem(atPath: installation.installedKeyFilePath, toPath: elsewhere)
        try FileManager.default.createSymbolicLink(atPath: installation.installedKeyFilePath, withDestinationPath: elsewhere)
        let error = deploymentError { _ = try InstallationPermissions.check(installation) }
        #expect(error?.kind == .unsafePermissions)
        #expect(error?.message == "\(installation.installedKeyFilePath) is a symbolic link: refusing to follow it; it must be a regular file")
        try FileManager.default.removeItem(atPath: installation.installedKeyFilePath)
        try FileManager.default.moveItem(atPath: elsewhere, toPath: installation.installedKeyFilePath)

        try FileManager.default.moveItem(atPath: installation.binDirectory, toPath: root + "/bin-elsewhere")
        try FileManager.default.createSymbolicLink(atPath: installation.binDirectory, withDestinationPath: root + "/bin-elsewhere")
        #expect(deploymentError { _ = try InstallationPermissions.check(installation) }?.message
                == "\(installation.binDirectory) is a symbolic link: refusing to follow it; it must be a real directory")
    }

    /// Each of the installation's files owned by another user is refused with its path and owner.
    @Test(arguments: ["", "/Bin", "/server.json", "/keys", "/keys/keyset.bin", "/keys/activation.json"])
    func entryOwnedByAnotherUserIsRefused(entry: String) async throws {
        let installation = try await primary()
        let path = installation.directory + entry
        #expect(chown(path, Self.nobody, Self.nobody) == 0)
        let error = deploymentError { _ = try InstallationPermissions.check(installation) }
        #expect(error?.kind == .unsafePermissions)
        #expect(error?.message == "\(path) is owned by nobody (uid 65534), not by root: its owner could replace the installation's files; fix it with chown root \(path)")
    }

    /// Writes go through the checked directory too: an installation owned by another user is not written.
    @Test func writesIntoADirectoryOwnedByAnotherUserAreRefused() async throws {
        let installation = try await primary()
        let before = try SecureFile.read(installation.installedKeyFilePath)
        #expect(chown(installation.keysDirectory, Self.nobody, Self.nobody) == 0)
        let file = try installation.openInstalledKeySet(password: password, policy: .allowWeak)
        let credentials = Credentials(account: installation.configuration.serviceAccount, password: password)
        #expect(deploymentError { try installation.installKeySet(file, credentials: credentials, replace: true) }?.kind == .unsafePermissions)
        #expect(try SecureFile.read(installation.installedKeyFilePath) == before)
        #expect(chown(installation.keysDirectory, 0, 0) == 0)
        #expect(chmod(installation.directory, 0o777) == 0)
        #expect(deploymentError { _ = try installation.updating(installation.configuration) }?.kind == .unsafePermissions)
    }

    /// Bin/ writable by group or others is refused like the other directories.
    @Test func writableBinIsRefused() async throws {
        let installation = try await primary()
        chmod(installation.binDirectory, 0o777)
        let error = deploymentError { _ = try InstallationPermissions.check(installation) }
        #expect(error?.kind == .unsafePermissions)
        #expect(error?.message == "\(installation.binDirectory) is writable by group or others (mode 777): fix it with chmod go-w")
    }

    /// A tool in Bin/ that another user owns, or that links to such a file, is refused: root runs it.
    @Test func toolInBinOwnedByAnotherUserIsRefused() async throws {
        let installation = try await primary()
        let tool = installation.binDirectory + "/miisactivate"
        try Data([0x23, 0x21]).write(to: URL(fileURLWithPath: tool))
        chmod(tool, 0o755)
        #expect(try InstallationPermissions.check(installation).isEmpty)
        #expect(chown(tool, Self.nobody, Self.nobody) == 0)
        #expect(deploymentError { _ = try InstallationPermissions.check(installation) }?.message
                == "\(tool) is owned by nobody (uid 65534), not by root: its owner could replace the installation's files; fix it with chown root \(tool)")
        try FileManager.default.removeItem(atPath: tool)
        let theirs = root + "/theirs"
        try Data([0x23, 0x21]).write(to: URL(fileURLWithPath: theirs))
        #expect(chown(theirs, Self.nobody, Self.nobody) == 0)
        try FileManager.default.createSymbolicLink(atPath: tool, withDestinationPath: theirs)
        #expect(deploymentError { _ = try InstallationPermissions.check(installation) }?.kind == .unsafePermissions)
        #expect(chown(theirs, 0, 0) == 0)
        #expect(try InstallationPermissions.check(installation).isEmpty)
    }
}
