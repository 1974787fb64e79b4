import Foundation
import Testing

/// The release binaries (`make release`) next to the debug ones the suite runs on. Tests of what
/// only a release build has (its link flags, the Debian package made from it) run when they
/// exist; `make test` builds them and sets `MIIS_REQUIRE_RELEASE=1`, so that there a missing
/// release build fails those tests instead of skipping them.
enum ReleaseProducts {
    static let directory = ToolRunner.productsDirectory.deletingLastPathComponent().appendingPathComponent("release")

    static func path(of tool: String) -> String { directory.appendingPathComponent(tool).path }

    static var required: Bool { ProcessInfo.processInfo.environment["MIIS_REQUIRE_RELEASE"] == "1" }

    static var built: Bool {
        ["keytool", "miisserver"].allSatisfy { FileManager.default.isExecutableFile(atPath: path(of: $0)) }
    }

    /// Run the test when the release build exists, or when it is required (it then fails there).
    static let condition: ConditionTrait = .enabled(if: built || required, "no release build (make release)")

    /// Records a failure when the release build is required but missing; true when it can be used.
    static func check(sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        if built { return true }
        Issue.record("MIIS_REQUIRE_RELEASE is set but \(directory.path) has no release build (make release)",
                     sourceLocation: sourceLocation)
        return false
    }
}
