// TEMPORARY: stand-ins for APIs the deployment branch delivers; removed at merge.
import Foundation
import KeyFile

extension ServerInstallation {
    public var activeEpoch: Int64? { nil }
    public func recordActivation(epoch: Int64) throws {}
}

public func verifyKeySet(_ keySet: KeySet, against store: any DeploymentStore) async throws {}

public enum AdminGroupScope: String, Codable, Sendable {
    case local, directory, missing
    public static func resolve(_ name: String) -> AdminGroupScope { .local }
}

public enum DeploymentStoreFactory {
    public static func open(location: String) throws -> any DeploymentStore { fatalError() }
}
