import Foundation
import Testing

/// The man pages render cleanly, list the exit statuses, name PostgreSQL URLs beside SQLite paths,
/// and `make install` installs the documents they refer to (issue 18).
@Suite struct ManPageTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func page(_ tool: String) -> String { repository.appendingPathComponent("docs/man/\(tool).1").path }

    @Test(arguments: ["keytool", "miisserver", "miisactivate"])
    func rendersWithoutWarnings(tool: String) throws {
        let result = try ToolRunner.run("/usr/bin/man", ["--warnings", "-l", Self.page(tool)], environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"])
        #expect(result.status == 0)
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    /// EXIT STATUS is a list, one status per item, in the section of that name (not a run-on
    /// paragraph in DESCRIPTION).
    @Test(arguments: ["keytool", "miisserver"])
    func exitStatusIsAList(tool: String) throws {
        let source = try String(contentsOfFile: Self.page(tool), encoding: .utf8)
        let section = try #require(source.range(of: ".Sh \"EXIT STATUS\"\n"))
        let body = source[section.upperBound...].prefix { _ in true }
        #expect(body.contains(".Bl -tag"))
        #expect(body.contains(".It 28\nthis server is fenced"))
        #expect(!source[..<section.lowerBound].contains("  28  "))
        let rendered = try ToolRunner.run("/usr/bin/man", ["-l", Self.page(tool)], environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"])
        #expect(rendered.stdout.contains("     28    this server is fenced"), "\(rendered.stdout.suffix(3000))")
    }

    @Test func databaseLocationsNamePostgreSQLBesideSQLite() throws {
        let source = try String(contentsOfFile: Self.page("miisserver"), encoding: .utf8)
        #expect(source.contains("SQLite file path"))
        #expect(source.contains("postgres://USER@HOST[:PORT]/DATABASE[?PARAMETERS]"))
        #expect(source.contains("share/doc/miis"))
    }

    @Test func installPutsTheDocumentsWhereThePagesSay() throws {
        let prefix = try TemporaryDirectory("miis-prefix-doc")
        let result = try ToolRunner.run("/bin/bash", [Self.repository.appendingPathComponent("scripts/install.sh").path, prefix.path,
                                                      ToolRunner.productsDirectory.path])
        #expect(result.status == 0, "\(result.stderr)")
        for document in ["README.md", "keytool.md", "miisserver.md", "postgresql.md", "security.md", "key-file-format.md"] {
            #expect(FileManager.default.fileExists(atPath: prefix.file("share/doc/miis/\(document)")), "\(document)")
        }
        #expect(result.stdout.contains("man pages: add \(prefix.path)/share/man to MANPATH"), "\(result.stdout)")
    }
}
