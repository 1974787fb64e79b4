import Deployment
import Foundation
import KeyFile
import Testing

/// The library's rules behind `miisserver repair --database` and `miisserver unregister`.
@Suite("Membership: repair --database, unregister")
struct MembershipAdministrationTests {
    let root: String
    let password: Password

    init() throws {
        root = try temporaryDirectory()
        password = try Password("correct horse")
    }

    /// A primary `alpha` and a standby `beta` on `<root>/db.sqlite`.
    func deployment() async throws -> (alpha: ServerInstallation, beta: ServerInstallation) {
        let alpha = try await DeploymentAdministration.setup(try AdministrationTests.request(root, "alpha", .primary), password: password).installation
        let beta = try await DeploymentAdministration.setup(try AdministrationTests.request(root, "beta", .standby), password: nil).installation
        return (alpha, beta)
    }

    /// Copies the SQLite database with its WAL (the store may not have checkpointed it).
    func copyDatabase(to path: String) throws {
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: root + "/db.sqlite" + suffix) {
            try FileManager.default.copyItem(atPath: root + "/db.sqlite" + suffix, toPath: path + suffix)
        }
    }

    func repair(_ installation: ServerInstallation, database: String) async throws -> (ServerInstallation, [DeploymentWarning]) {
        try await DeploymentAdministration.repair(installation, .init(database: database), oldPassword: nil, newPassword: nil)
    }

    @Test func aCopyOfTheSameDeploymentIsAccepted() async throws {
        let (alpha, beta) = try await deployment()
        try copyDatabase(to: root + "/moved.sqlite")
        for installation in [alpha, beta] {
            // The path is recorded standardized, as setup records it.
            let (updated, warnings) = try await repair(installation, database: root + "/./moved.sqlite")
            #expect(updated.configuration.database == URL(fileURLWithPath: root + "/moved.sqlite").standardizedFileURL.path)
            #expect(!warnings.contains { $0.message.contains("database") })
            #expect(try ServerInstallation(directory: installation.directory).configuration.database == updated.configuration.database)
        }
    }

    @Test func anotherDeploymentOrAnOlderCopyIsRefused() async throws {
        let (alpha, beta) = try await deployment()
        let other = root + "/other"
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        _ = try await DeploymentAdministration.setup(try AdministrationTests.request(other, "alpha", .primary), password: password)
        _ = try await DeploymentAdministration.setup(try AdministrationTests.request(other, "beta", .standby), password: nil)
        for installation in [alpha, beta] {
            await expectDeploymentError(.database) { _ = try await repair(installation, database: other + "/db.sqlite") }
            #expect(try ServerInstallation(directory: installation.directory).configuration.database == root + "/db.sqlite")
        }
        let gamma = try await DeploymentAdministration.setup(try AdministrationTests.request(other, "gamma", .standby), password: nil).installation
        await expectDeploymentError(.notRegistered) { _ = try await repair(gamma, database: root + "/db.sqlite") }
        // An epoch this server already held is newer than the copy's: refused on the local record alone.
        try copyDatabase(to: root + "/old.sqlite")
        try alpha.recordActivation(epoch: 2, keySetID: try #require(try alpha.installedKeyFileHeader()).keySetID, at: Date())
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: root + "/db.sqlite" + suffix) }
        await expectDeploymentError(.database) { _ = try await repair(alpha, database: root + "/old.sqlite") }
        // Without that record, the copy is accepted with the warning that only local facts were compared.
        let (_, warnings) = try await repair(beta, database: root + "/old.sqlite")
        #expect(warnings.filter { $0.message.contains("the current database") && $0.message.contains("did not answer") }.count == 1)
    }

    @Test func unregisterRetiresAndLogsButNotTheActiveServer() async throws {
        let (alpha, beta) = try await deployment()
        _ = try await DeploymentAdministration.setPasswordSync(alpha, enabled: true, target: "beta")
        let warnings = try await DeploymentAdministration.unregister(alpha, server: "beta")
        #expect(warnings.first?.message.contains("password synchronization is still directed to 'beta'") == true)
        let log = try await DeploymentAdministration.history(alpha)
        #expect(log.last?.outcome == .changed)
        #expect(log.last?.server == "alpha")
        #expect(log.last?.detail.contains("unregistered server 'beta'") == true)
        await expectDeploymentError(.invalidRequest) { _ = try await DeploymentAdministration.unregister(alpha, server: "alpha") }
        await expectDeploymentError(.notRegistered) { _ = try await DeploymentAdministration.unregister(alpha, server: "beta") }
        // The retired server itself may no longer administer the deployment.
        await expectDeploymentError(.notRegistered) { _ = try await DeploymentAdministration.unregister(beta, server: "alpha") }
    }
}
