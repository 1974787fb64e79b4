import Foundation
import Testing

/// Every example command line in the help texts, the man pages and the README survives being
/// pasted into a shell (issue 18): `'*'` and `'CORP\svc-sync'` quoted, so that bash passes the
/// words the example shows (an unquoted `*` would expand to the files of the current directory,
/// an unquoted `CORP\svc-sync` would lose its backslash).
@Suite struct ExampleQuotingTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Lines that run one of the tools: lines that start (after indentation, a `$ ` prompt or
    /// `sudo `) with a tool's name and an argument; a trailing `# comment` dropped. In Markdown,
    /// only lines of fenced code blocks.
    static func examples(in text: String, markdown: Bool = false) -> [String] {
        var inCode = false
        return text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { line -> [String] in
            if markdown, line.hasPrefix("```") { inCode.toggle(); return [] }
            if markdown, !inCode { return [] }
            var line = String(line)
            if let comment = line.range(of: " #") { line = String(line[..<comment.lowerBound]) }
            // `a && b`, `a | b`: each command on its own.
            return line.split(separator: /\s(?:&&|\|\||\||;)\s/).compactMap { part in
                guard let match = part.wholeMatch(of: /\s*(?:\$ )?(?:sudo )?((?:miisactivate|miisserver|keytool) (\S+).*)/) else { return nil }
                var command = String(match.output.1)
                // A redirection (`--json > audit.json`) is the shell's, not the tool's words.
                if let redirection = command.firstRange(of: /\s(?:\d?>>?|<)\s?\S/) { command = String(command[..<redirection.lowerBound]) }
                command = command.trimmingCharacters(in: .whitespaces)
                // The second word is a command, an option, a switch or a file: not prose ("miisactivate promotes ...").
                let second = match.output.2
                guard second.first == "-" || second.first == "/" || second.contains(".") || second.contains("'") || subcommands.contains(String(second)) else { return nil }
                // Synopses ([FileName] {Password | *}, NAME, primary|standby) are grammar, not commands.
                let unquoted = command.replacing(/'[^']*'/, with: "''")
                guard !unquoted.contains("{"), !unquoted.contains("<"), !unquoted.contains("["), !unquoted.contains("…"), !unquoted.contains("..."),
                      unquoted.firstMatch(of: /\b[A-Z]{2,}\b|\w\|\w/) == nil else { return nil }
                return command
            }
        }
    }

    static let subcommands: Set<String> = ["inspect", "verify", "list", "create", "passwd", "export-keys", "audit", "diff", "setup", "repair",
                                           "status", "backup", "password-sync", "secret", "lease", "heartbeat", "check", "history", "unregister"]

    static func check(_ line: String, source: String) throws {
        let words = try ShellWords.parse(line)
        #expect(!words.isEmpty, "\(source): \(line)")
        if line.contains("svc-sync") {
            #expect(words.contains { $0.hasSuffix("\\svc-sync") || $0 == "svc-sync" }, "\(source): \(line) -> \(words)")
        }
        if line.firstMatch(of: /(^|\s)'?\*'?(\s|$)/) != nil {
            #expect(words.contains("*"), "\(source): \(line) -> \(words)")
        }
    }

    @Test func helpTextsQuoteTheirExamples() throws {
        var checked = 0
        for (tool, arguments) in [("miisactivate", ["/?"]), ("keytool", ["--help"]), ("miisserver", ["--help"]),
                                  ("miisserver", ["backup", "--help"]), ("keytool", ["passwd", "--help"])] {
            let help = try ToolRunner.run(tool, arguments)
            for line in Self.examples(in: help.stdout) {
                try Self.check(line, source: "\(tool) \(arguments)")
                checked += 1
            }
        }
        #expect(checked >= 1)
    }

    @Test(arguments: ["keytool", "miisserver", "miisactivate"])
    func manPagesQuoteTheirExamples(tool: String) throws {
        let page = Self.repository.appendingPathComponent("docs/man/\(tool).1").path
        let man = try ToolRunner.run("/usr/bin/man", ["-l", page], environment: ["MANWIDTH": "200", "MANPAGER": "cat", "PAGER": "cat"])
        #expect(man.status == 0)
        for line in Self.examples(in: man.stdout) { try Self.check(line, source: "\(tool).1") }
    }

    @Test(arguments: ["README.md", "docs/miisserver.md", "docs/postgresql.md", "docs/keytool.md", "docs/security.md"])
    func documentsQuoteTheirExamples(document: String) throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent(document), encoding: .utf8)
        for line in Self.examples(in: text, markdown: true) { try Self.check(line, source: document) }
    }

    /// The README's runbook is full of examples: the extraction finds them.
    @Test func theReadmeHasExamplesToCheck() throws {
        let text = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let examples = Self.examples(in: text, markdown: true)
        #expect(examples.count >= 12, "\(examples)")
        #expect(examples.contains { $0.contains("'CORP\\svc-sync' '*'") })
    }
}
