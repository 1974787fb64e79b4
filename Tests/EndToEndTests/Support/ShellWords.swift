import Foundation

/// How bash splits a command line into words, asked of bash itself: an example pasted into a
/// shell must run the command it shows (issue 18: `'*'`, `'CORP\svc-sync'` quoted). Globs expand
/// in an empty directory with nullglob, so an unquoted `*` disappears instead of surviving by luck.
enum ShellWords {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ line: String) throws -> [String] {
        let empty = try TemporaryDirectory("shell-words")
        let syntax = try ToolRunner.run("/bin/bash", ["-n", "-c", line])
        guard syntax.status == 0 else { throw Failure(description: "bash -n: \(line): \(syntax.stderr)") }
        let script = #"shopt -s nullglob; cd "$1" || exit 1; eval "words=( $2 )" || exit 1; printf '%s\0' "${words[@]}""#
        let result = try ToolRunner.run("/bin/bash", ["-c", script, "bash", empty.path, line])
        guard result.status == 0 else { throw Failure(description: "bash: \(line): \(result.stderr)") }
        return result.stdout.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}
