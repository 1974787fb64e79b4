import Deployment
import ErrorReporting
import KeyFile
import Testing
import ToolSupport

/// The one exit-code table (ToolSupport) against every error class the libraries define: the
/// statuses are the documented ones, and none falls through to "internal error".
@Suite struct ExitCodeTableTests {
    @Test func everyKeyFileCategoryHasItsDocumentedStatus() {
        let statuses = KeyFileError.Category.allCases.map { ExitCodes.status(forClass: $0.rawValue) }
        #expect(statuses == [10, 11, 12, 13, 14, 15, 16, 17])
    }

    @Test func everyDeploymentKindHasItsDocumentedStatus() {
        let expected: [DeploymentError.Kind: Int32] = [
            .notAdministrator: 20, .installation: 21, .notRegistered: 22, .schemaMismatch: 23, .passwordSyncTarget: 24,
            .keySetMismatch: 25, .primaryAlive: 26, .conflict: 27, .fenced: 28, .database: 29, .invalidRequest: 30,
            .unsafePermissions: 31, .cancelled: 32,
        ]
        #expect(Set(DeploymentError.Kind.allCases) == Set(expected.keys))
        for kind in DeploymentError.Kind.allCases {
            #expect(ExitCodes.status(for: DeploymentError(kind, "x")) == expected[kind], "\(kind)")
        }
    }

    @Test func helpTableListsEveryStatusOnce() {
        let lines = ExitCodes.table.split(separator: "\n")
        #expect(lines.first == "  0   success (for miisactivate also: already active, or a dry run whose checks all passed)")
        #expect(lines.contains("  28  this server is fenced (its epoch is older than the database's) or not active"))
        #expect(lines.last == "  64  usage error (bad arguments, refused cleartext output)")
        let codes = lines.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(Set(codes).count == codes.count)
    }

    @Test func reportedFailureAppendsTheToolsRemedyAndKeepsTheClass() {
        let remedies: Remedies = { error in error.errorClass == "fenced" ? "run the fix" : nil }
        let fenced = ReportedFailure(DeploymentError(.fenced, "this server is fenced"), remedies: remedies)
        #expect(fenced == ReportedFailure(exitCode: 28, message: "this server is fenced; run the fix"))
        let corrupted = ReportedFailure(KeyFileError(.corrupted, code: "checksum", "bad"), remedies: remedies)
        #expect(corrupted == ReportedFailure(exitCode: 10, message: "bad"))
        #expect(ReportedFailure(ToolFailure(exitCode: 64, "usage")) == ReportedFailure(exitCode: 64, message: "usage"))
        struct Unclassified: Error {}
        #expect(ReportedFailure(Unclassified()).exitCode == 1)
    }

    @Test func anExplainedFailureKeepsTheUnderlyingStatus() {
        let underlying = KeyFileError(.io, code: "write", "disk full")
        let explained = ExplainedFailure(underlying, explanation: "the installation was kept", remedy: .rerunSetup)
        #expect(ExitCodes.status(for: explained) == 15)
        #expect(explained.errorCode == "io.write")
        #expect(explained.message == "disk full; the installation was kept")
        #expect(explained.deploymentRemedy == .rerunSetup)
    }
}
