import Foundation
import Testing

/// The bash completions, as installed (scripts/install.sh: keytool's and miisserver's written by
/// the tools themselves, miisactivate's from packaging/completions), run the way bash runs them:
/// COMP_WORDS and COMP_CWORD set, the completion function called, COMPREPLY read (issue 18).
@Suite struct CompletionTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The completion script for `tool`, in a file.
    static func script(for tool: String, in directory: TemporaryDirectory) throws -> String {
        if tool == "miisactivate" { return repository.appendingPathComponent("packaging/completions/miisactivate.bash").path }
        let generated = try ToolRunner.run(tool, ["--generate-completion-script", "bash"])
        #expect(generated.status == 0, "\(generated.stderr)")
        let path = directory.file("\(tool).bash")
        try generated.stdout.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// What bash offers for the last word of `words` (the word being completed), run in `directory`.
    static func complete(_ words: [String], in directory: TemporaryDirectory) throws -> [String] {
        let tool = words[0]
        let harness = #"""
            script=$1; directory=$2; shift 2
            source "$script" || exit 1
            function=$(complete -p "$1" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
            cd "$directory" || exit 1
            COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            "$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}"
            """#
        let result = try ToolRunner.run("/bin/bash", ["-c", harness, "bash", try script(for: tool, in: directory), directory.path] + words,
                                        environment: ["PATH": ToolRunner.productsDirectory.path + ":/usr/bin:/bin"])
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    /// The long options a help text defines: those in the first column of its option lines
    /// (not the ones its prose mentions).
    static func options(inHelp text: String) -> Set<String> {
        var options: Set<String> = []
        for line in text.split(separator: "\n") where line.hasPrefix("  ") && line.drop(while: { $0 == " " }).hasPrefix("-") {
            for match in line.prefix(24).matches(of: /--[a-z][a-z0-9-]+/) { options.insert(String(match.output)) }
        }
        return options
    }

    @Test func miisactivateCompletesPathsThatStartWithASlash() throws {
        let directory = try TemporaryDirectory("completion")
        try FileManager.default.createDirectory(atPath: directory.file("vault"), withIntermediateDirectories: true)
        let root = try Self.complete(["miisactivate", "/v"], in: directory)
        #expect(root.contains("/var"), "\(root)")
        #expect(!root.contains("/q"))
        let quiet = try Self.complete(["miisactivate", "/q"], in: directory)
        #expect(quiet.contains("/q"), "\(quiet)")
        let nested = try Self.complete(["miisactivate", directory.file("va")], in: directory)
        #expect(nested == [directory.file("vault")], "\(nested)")
    }

    /// Every option the help text names is offered after `--`.
    @Test(arguments: ["keytool", "miisserver", "miisactivate"])
    func everyOptionOfTheHelpIsOffered(tool: String) throws {
        let directory = try TemporaryDirectory("completion")
        let commands: [[String]] = switch tool {
        case "keytool": [["create"], ["verify"], ["passwd"], ["audit"], ["list"]]
        case "miisserver": [["setup"], ["status"], ["backup"], ["heartbeat"], ["unregister"]]
        default: [[]]
        }
        for command in commands {
            let help = try ToolRunner.run(tool, command + ["--help"])
            #expect(help.status == 0, "\(help.stderr)")
            let options = Self.options(inHelp: help.stdout)
            #expect(!options.isEmpty)
            let offered = Set(try Self.complete([tool] + command + ["--"], in: directory))
            #expect(options.subtracting(offered).isEmpty, "\(tool) \(command): not offered \(options.subtracting(offered).sorted())")
        }
    }

    @Test(arguments: [
        (["miisserver", "setup", "--role", ""], ["primary", "standby"]),
        (["keytool", "audit", "--fail-on", ""], ["info", "low", "medium", "high"]),
        (["keytool", "create", "--kdf", ""], ["scrypt", "pbkdf2"]),
        (["miisserver", "setup", "--kdf", ""], ["scrypt", "pbkdf2"]),
        (["keytool", "export-keys", "--format", ""], ["jwk", "hex"]),
    ])
    func enumeratedValuesComplete(words: [String], expected: [String]) throws {
        let directory = try TemporaryDirectory("completion")
        let offered = try Self.complete(words, in: directory)
        #expect(Set(offered) == Set(expected), "\(words): \(offered)")
    }
}
