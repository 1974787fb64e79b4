@testable import Deployment
import Foundation
import KeyFile
import Testing

/// The activation protocol's liveness rule against a real SQLite deployment, where the checks
/// and the switch are apart in time (the confirmation prompt sits between them).
@Suite("Activation safety")
struct ActivationSafetyTests {
    /// A primary alpha with a 0.5 s lease and a standby beta; the primary's key file opens for beta.
    static func deployment() async throws -> (alpha: ServerInstallation, beta: ServerInstallation, options: ActivationRequestOptions) {
        let root = try temporaryDirectory()
        let password = try Password("correct horse")
        var primary = try AdministrationTests.request(root, "alpha", .primary)
        primary.leaseSeconds = 0.5
        let alpha = try await DeploymentAdministration.setup(primary, password: password).installation
        let beta = try await DeploymentAdministration.setup(try AdministrationTests.request(root, "beta", .standby), password: nil).installation
        var options = ActivationRequestOptions(
            keyFilePath: alpha.installedKeyFilePath, credentials: Credentials(account: try ServiceAccount("CORP\\svc"), password: password),
            osUser: "root", effectiveUserID: 0)
        options.kdfPolicy = .allowWeak
        return (alpha, beta, options)
    }

    @Test func aPrimaryThatComesBackWhileTheConfirmationIsOpenIsNotTakenOver() async throws {
        let (alpha, beta, options) = try await Self.deployment()
        _ = try await DeploymentAdministration.heartbeat(alpha)
        try await Task.sleep(for: .milliseconds(700))
        let store = try DeploymentStoreFactory.open(location: beta.configuration.database)
        let activation = StandbyActivation(installation: beta, store: store)
        do {
            let error = await #expect(throws: DeploymentError.self) {
                _ = try await activation.run(options) { _ in
                    // At the prompt: the primary is back.
                    let semaphore = DispatchSemaphore(value: 0)
                    Task { _ = try? await DeploymentAdministration.heartbeat(alpha); semaphore.signal() }
                    semaphore.wait()
                    return true
                }
            }
            #expect(error?.kind == .primaryAlive)
            #expect(error?.message.contains("the current primary alpha sent a heartbeat 0 s ago (the deployment's lease is 0.5 s)") == true,
                    "\(error?.message ?? "")")
            let state = try #require(try await store.deployment())
            #expect(state.activeServer == "alpha" && state.epoch == 1)
            #expect(try await store.activationAttempts().map(\.outcome) == [.refused])
            _ = try await DeploymentAdministration.heartbeat(alpha)
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
    }

    @Test func aShorterRequestedLeaseDoesNotShortenTheDeploymentsLease() async throws {
        var (alpha, beta, options) = try await Self.deployment()
        alpha = try ServerInstallation(directory: alpha.directory)
        _ = try await DeploymentAdministration.setLease(alpha, seconds: 30)
        _ = try await DeploymentAdministration.heartbeat(alpha)
        options.requestedLease = 0.001
        let store = try DeploymentStoreFactory.open(location: beta.configuration.database)
        let error = await #expect(throws: DeploymentError.self) { _ = try await StandbyActivation(installation: beta, store: store).run(options) }
        #expect(error?.kind == .primaryAlive)
        #expect(try await store.deployment()?.epoch == 1)
        try await store.close()
    }

    @Test func onlyTheActiveServerSetsTheLease() async throws {
        let (_, beta, _) = try await Self.deployment()
        await expectDeploymentError(.fenced) { _ = try await DeploymentAdministration.setLease(beta, seconds: 0.5) }
    }

    @Test func operatorIdentityNamesTheSudoUserAndTheLoginUID() {
        #expect(OperatorIdentity.describe(userID: 0, sudoUser: nil, loginUID: nil, userName: { $0 == 0 ? "root" : nil }) == "root")
        #expect(OperatorIdentity.describe(userID: 0, sudoUser: "alice", loginUID: 1000, userName: { ["root", "alice"][$0 == 0 ? 0 : 1] })
                == "root (sudo by alice, login alice uid 1000)")
        // The kernel's "unset" login UID and the same user are not repeated.
        #expect(OperatorIdentity.describe(userID: 0, sudoUser: "root", loginUID: 4_294_967_295, userName: { _ in "root" }) == "root")
        #expect(OperatorIdentity.describe(userID: 1000, sudoUser: nil, loginUID: 1000, userName: { _ in nil }) == "uid 1000")
    }
}
