import Foundation
import Testing

/// Every statement of the PostgreSQL store goes through `PostgresConnection.fetch`
/// (Sources/Deployment/Store/Postgres/PostgresConnection+Statements.swift). postgres-nio's own
/// calls hand a statement to a connection that has closed without a word, and their caller waits
/// for ever (PostgresDeploymentTests.aWriteResumedAfterTheServerEndedItsSessionFailsAtOnce): a
/// rule on the sources, so that a new call site cannot bring that wait back.
@Suite struct PostgresStatementRouteTests {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")
    static let gate = "PostgresConnection+Statements.swift"
    static let bypasses = [".query(", "withTransaction(", "simpleQuery(", ".execute(", ".prepareStatement("]

    @Test func noStatementBypassesFetch() throws {
        let files = try #require(FileManager.default.enumerator(atPath: Self.sources.path)).compactMap { $0 as? String }
            .filter { $0.hasSuffix(".swift") }
        var postgresFiles = 0
        for file in files where !file.hasSuffix("/" + Self.gate) {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            guard text.contains("import PostgresNIO") else { continue }
            postgresFiles += 1
            for bypass in Self.bypasses {
                #expect(!text.contains(bypass), "\(file) calls \(bypass)…): send statements with PostgresConnection.fetch")
            }
        }
        #expect(postgresFiles >= 4, "found \(postgresFiles) files importing PostgresNIO: the rule would pass vacuously")
        let gate = try String(contentsOf: Self.sources.appendingPathComponent("Deployment/Store/Postgres/" + Self.gate), encoding: .utf8)
        #expect(gate.contains("guard !self.isClosed"), "the gate no longer checks the connection before handing the statement over")
    }
}
