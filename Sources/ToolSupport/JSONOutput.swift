#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import KeyFile

/// The one JSON configuration of every `--json` output of the three tools: sorted keys, slashes
/// unescaped, dates in ISO 8601. Each report carries its own `schemaVersion`.
package enum JSONOutput {
    /// The encoder; `pretty: false` writes one line (one element of a streamed array).
    /// `userInfo` carries what a value needs to encode itself (the deployment tools' spelling of
    /// remedies).
    package static func encoder(pretty: Bool = true, userInfo: [CodingUserInfoKey: any Sendable] = [:]) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.userInfo = userInfo
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    /// Writes `value` as JSON and a newline to standard output.
    package static func print(_ value: some Encodable, pretty: Bool = true, userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws {
        let data = try encoder(pretty: pretty, userInfo: userInfo).encode(value)
        printLine(String(decoding: data, as: UTF8.self))
    }

    /// Writes one line of JSON text to standard output. Bytes of a file name that are not UTF-8
    /// show as `\\xHH` inside its strings: JSON strings are Unicode, the name's bytes cannot be
    /// carried as such, and `\\` keeps the document valid JSON. Buffered (`print`): a bulk
    /// `verify --json` writes thousands of lines; ``StandardStreams/exit(_:)`` flushes.
    package static func printLine(_ text: String) {
        Swift.print(FileSystemPath.visible(text, backslash: "\\\\"))
    }
}
