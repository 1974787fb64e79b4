import Deployment
import Foundation
import KeyFile
import Testing

let weakKDF = KDFParameters.scrypt(logN: 10, r: 8, p: 1)

func temporaryDirectory() throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("miis-admin-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    return directory
}

@Suite("Administration")
struct AdministrationTests {
    static func request(_ root: String, _ name: String, _ role: ServerRole) throws -> DeploymentAdministration.SetupRequest {
        DeploymentAdministration.SetupRequest(installDirectory: "\(root)/\(name)", serverName: name, database: "\(root)/db.sqlite", role: role,
                                              serviceAccount: try ServiceAccount("CORP\\svc"), kdf: weakKDF, kdfPolicy: .allowWeak)
    }

    @Test func adminGroupScope() throws {
        let root = try temporaryDirectory()
        let file = "\(root)/group"
        try "# comment\nmiisadmins:x:1500:alice,bob\n+nisgroup\n\nwheel:x:10:\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(AdminGroupScope.resolve("miisadmins", groupFile: file) == .local)
        #expect(AdminGroupScope.resolve("wheel", groupFile: file) == .local)
        // root resolves through NSS but is not in the injected file: a "directory" group here.
        #expect(AdminGroupScope.resolve("root", groupFile: file) == .directory)
        #expect(AdminGroupScope.resolve("no-such-group-\(UUID().uuidString.prefix(8))", groupFile: file) == .missing)
        #expect(AdminGroupScope.resolve("nisgroup", groupFile: file) != .local)
        #expect(AdminGroupScope.resolve("root", groupFile: "\(root)/missing") == .directory)
    }

    @Test func primaryAndStandbySetupAndState() async throws {
        let root = try temporaryDirectory()
        let password = try Password("correct horse")
        let primary = try await DeploymentAdministration.setup(try Self.request(root, "alpha", .primary), password: password)
        #expect(primary.databaseSchema == SchemaCatalog.current)
        let alpha = primary.installation
        #expect(alpha.activeEpoch == 1)
        #expect(alpha.hasInstalledKeySet)
        var status = stat()
        #expect(stat(alpha.installedKeyFilePath, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(stat(alpha.keysDirectory, &status) == 0 && status.st_mode & 0o777 == 0o700)
        let file = try alpha.openInstalledKeySet(password: password, policy: .allowWeak)
        #expect(file.keySet.id == primary.keySetID)

        let standby = try await DeploymentAdministration.setup(try Self.request(root, "beta", .standby), password: nil)
        #expect(standby.warnings.allSatisfy { !$0.message.contains("0x80230443") })
        #expect(!standby.installation.hasInstalledKeySet)

        await expectDeploymentError(.invalidRequest) {
            _ = try await DeploymentAdministration.setup(try Self.request(root, "delta", .primary), password: password)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(root)/delta/server.json"))
        await expectDeploymentError(.installation) {
            _ = try await DeploymentAdministration.setup(try Self.request(root, "beta", .standby), password: nil)
        }

        let alphaStatus = try await DeploymentAdministration.status(alpha)
        #expect(alphaStatus.installation.state == .active)
        #expect(alphaStatus.servers.map(\.name) == ["alpha", "beta"])
        let betaStatus = try await DeploymentAdministration.status(standby.installation)
        #expect(betaStatus.installation.state == .standby)

        // A takeover by beta (what miisactivate does) fences alpha.
        let state = try await DeploymentAdministration.withStore(alpha) { store in
            try await store.activate(Fixture.request("beta", epoch: 1, keySet: file.keySet.id))
        }
        try standby.installation.installKeySet(file, credentials: Credentials(account: try ServiceAccount("CORP\\svc"), password: password), replace: false)
        try standby.installation.recordActivation(epoch: state.epoch, keySetID: state.keySetID, at: state.activatedAt)
        #expect(try await DeploymentAdministration.status(alpha).installation.state == .fenced)
        #expect(try await DeploymentAdministration.status(standby.installation).installation.state == .active)
        await expectDeploymentError(.fenced) { _ = try await DeploymentAdministration.heartbeat(alpha) }
        await expectDeploymentError(.fenced) { _ = try await DeploymentAdministration.check(alpha) }
        _ = try await DeploymentAdministration.heartbeat(standby.installation)
        _ = try await DeploymentAdministration.check(standby.installation)
    }

    @Test func secretsThroughTheInstalledKeySet() async throws {
        let root = try temporaryDirectory()
        let password = try Password("pw")
        let alpha = try await DeploymentAdministration.setup(try Self.request(root, "alpha", .primary), password: password).installation
        let stored = try await DeploymentAdministration.setSecret(alpha, name: "crm", value: secure("hunter2"), password: password, policy: .allowWeak)
        let keySet = try alpha.openInstalledKeySet(password: password, policy: .allowWeak).keySet
        #expect(try SecretCipher.open(stored, keySet: keySet) == secure("hunter2"))
        #expect(try await DeploymentAdministration.secrets(alpha).map(\.name) == ["crm"])
        #expect(throws: KeyFileError.self) {
            _ = try alpha.openInstalledKeySet(password: try Password("wrong"), policy: .allowWeak)
        }
        try await DeploymentAdministration.withStore(alpha) { store in try await DeploymentKeyCheck.verifyKeySet(keySet, against: store) }
    }

    @Test func repairChangesAdminGroupAndReSealsForANewAccount() async throws {
        let root = try temporaryDirectory()
        let password = try Password("old")
        let alpha = try await DeploymentAdministration.setup(try Self.request(root, "alpha", .primary), password: password).installation
        let keySetID = try alpha.installedKeyFileHeader()?.keySetID
        let newAccount = try ServiceAccount("CORP\\svc2")
        await expectDeploymentError(.invalidRequest) {
            _ = try await DeploymentAdministration.repair(alpha, .init(serviceAccount: newAccount, kdfPolicy: .allowWeak), oldPassword: nil, newPassword: nil)
        }
        let (repaired, _) = try await DeploymentAdministration.repair(
            alpha, .init(adminGroup: "directory-admins", serviceAccount: newAccount, kdfPolicy: .allowWeak),
            oldPassword: password, newPassword: try Password("new"))
        #expect(repaired.configuration.adminGroup == "directory-admins")
        #expect(repaired.configuration.serviceAccount == newAccount)
        let file = try repaired.openInstalledKeySet(password: try Password("new"), policy: .allowWeak)
        #expect(file.keySet.id == keySetID)
        #expect(file.header.account == newAccount)
        // Repair records this binary's software version, whatever server.json said (issue 18).
        var edited = repaired.configuration
        edited.softwareVersion = "1.2.7"
        let stale = try repaired.updating(edited)
        let (versioned, _) = try await DeploymentAdministration.repair(stale, .init(adminGroup: "directory-admins"), oldPassword: nil, newPassword: nil)
        #expect(versioned.configuration.softwareVersion == SchemaCatalog.currentSoftwareVersion)
        #expect(try await DeploymentAdministration.status(versioned).servers.first?.softwareVersion == SchemaCatalog.currentSoftwareVersion)
    }

    /// "The highest N is the newest" holds after any cleanup: a freed number is never reused.
    @Test func defaultBackupNamesNeverReuseAFreedNumber() throws {
        let root = try temporaryDirectory()
        for name in ["miiskeys-1.bin", "miiskeys-3.bin", "miiskeys-x.bin", "miiskeys-07.bin", "other-9.bin"] {
            #expect(FileManager.default.createFile(atPath: "\(root)/\(name)", contents: Data()))
        }
        // 1 and 3 remain after a cleanup removed 2: the next is 8 (after 07), not 2.
        #expect(KeyBackup.nextDefaultPath(in: root) == "\(root)/miiskeys-8.bin")
        let empty = try temporaryDirectory()
        #expect(KeyBackup.nextDefaultPath(in: empty) == "\(empty)/miiskeys-1.bin")
    }

    @Test func backupWritesAVerifiedFreshCopy() async throws {
        let root = try temporaryDirectory()
        let password = try Password("pw")
        let alpha = try await DeploymentAdministration.setup(try Self.request(root, "alpha", .primary), password: password).installation
        #expect(KeyBackup.nextDefaultPath(in: root) == "\(root)/miiskeys-1.bin")
        let outcome = try await KeyBackup.backup(installation: alpha, password: password, output: "\(root)/miiskeys-1.bin", policy: .allowWeak)
        #expect(KeyBackup.nextDefaultPath(in: root) == "\(root)/miiskeys-2.bin")
        let installed = try SecureFile.read(alpha.installedKeyFilePath)
        let backup = try SecureFile.read(outcome.path)
        #expect(installed != backup)
        let opened = try SealedKeyFile(bytes: backup).open(with: Credentials(account: alpha.configuration.serviceAccount, password: password), policy: .allowWeak)
        #expect(opened.keySet.fingerprint == outcome.fingerprint)
        var status = stat()
        #expect(stat(outcome.path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        // Never over an existing file.
        await #expect(throws: KeyFileError.self) {
            _ = try await KeyBackup.backup(installation: alpha, password: password, output: outcome.path, policy: .allowWeak)
        }
        await #expect(throws: KeyFileError.self) {
            _ = try await KeyBackup.backup(installation: alpha, password: try Password("wrong"), output: "\(root)/x.bin", policy: .allowWeak)
        }
    }

    @Test func backupRefusesAStaleKeySet() async throws {
        let root = try temporaryDirectory()
        let password = try Password("pw")
        let alpha = try await DeploymentAdministration.setup(try Self.request(root, "alpha", .primary), password: password).installation
        let stale = try KeyFile(keySet: try KeySet.generate(), account: alpha.configuration.serviceAccount, sourceServer: "alpha", kdf: weakKDF, policy: .allowWeak)
        try alpha.installKeySet(stale, credentials: Credentials(account: alpha.configuration.serviceAccount, password: password), replace: true)
        await expectDeploymentError(.keySetMismatch) {
            _ = try await KeyBackup.backup(installation: alpha, password: password, output: "\(root)/b.bin", policy: .allowWeak)
        }
        #expect(!FileManager.default.fileExists(atPath: "\(root)/b.bin"))
    }
}
