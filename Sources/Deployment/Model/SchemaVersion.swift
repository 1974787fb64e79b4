import Foundation
import KeyFile

/// Which database schema each software version needs. A server whose version maps to another
/// schema than the database holds is the reference's `Exception: 0x80230443` case: one server
/// was updated (a "service pack") and the other was not.
public enum SchemaCatalog {
    /// The schema this binary creates, migrates to and expects: the one its software version
    /// needs. A database holding a newer schema is refused for every read and write.
    public static var current: Int {
        schema(forSoftwareVersion: currentSoftwareVersion) ?? SchemaSteps.all.count
    }

    /// Software versions are `MAJOR.MINOR.PATCH`; the schema follows `MAJOR.MINOR`: each schema
    /// step names the release that brings it (``SchemaSteps``). The older releases stay known so
    /// that mixed-version deployments, the reference's un-updated standby, are detected.
    public static var schemaForRelease: [String: Int] {
        Dictionary(uniqueKeysWithValues: SchemaSteps.all.map { ($0.release, $0.version) })
    }

    /// The software version of this binary: what setup, repair and upgrade record in server.json
    /// and in the database. It is the toolkit's release; a debug build (the tests' build) may be
    /// told to be an older release by ``testSoftwareVersionVariable``.
    public static var currentSoftwareVersion: String { simulatedSoftwareVersion ?? ToolkitRelease.version }

    /// The schema `softwareVersion` needs, or `nil` for a version this build does not know.
    public static func schema(forSoftwareVersion softwareVersion: String) -> Int? {
        guard let release = release(of: softwareVersion) else { return nil }
        return schemaForRelease[release]
    }

    /// The `MAJOR.MINOR` of a `MAJOR.MINOR[.PATCH…]` version, or `nil` when it is not one.
    static func release(of softwareVersion: String) -> String? {
        let parts = softwareVersion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        return "\(parts[0]).\(parts[1])"
    }

    #if DEBUG
    /// Debug builds only: the environment variable that makes this binary behave as an older
    /// release of the toolkit (its software version and so its schema), so that the end-to-end
    /// tests run "two builds of different versions" with one debug binary. It must name a known
    /// release no newer than this build's (`1.1.0`); any other value is ignored. A release build
    /// has no such variable: the name is not even in its binary (ReleaseBuildTests).
    public static let testSoftwareVersionVariable = "MIIS_TEST_SOFTWARE_VERSION"

    private static let simulatedSoftwareVersion: String? = {
        guard let value = ProcessInfo.processInfo.environment[testSoftwareVersionVariable],
              let simulated = schema(forSoftwareVersion: value),
              let releaseSchema = schema(forSoftwareVersion: ToolkitRelease.version), simulated <= releaseSchema else { return nil }
        return value
    }()
    #else
    private static let simulatedSoftwareVersion: String? = nil
    #endif
}
