import ArgumentParser
import KeyFile

/// The files a many-file command works on (`verify`, `audit`): paths, optionally recursive.
struct PathSelection: ParsableArguments {
    @Argument(help: "Key files and directories.")
    var paths: [String]

    @Flag(name: .shortAndLong, help: "Descend into subdirectories.")
    var recursive = false

    /// The key files named, sorted; an `io` failure (exit 15) when there are none.
    func collect(verb: String) throws -> [CollectedPath] {
        let collected = KeyFilePathCollector.collect(paths, recursive: recursive)
        guard !collected.isEmpty else {
            throw KeyFileError(.io, code: "no-files", "no files to \(verb) in the given paths")
        }
        return collected
    }
}
