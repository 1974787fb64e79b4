import KeyFile
import SystemPackage
import ToolSupport
#if canImport(Glibc)
import Glibc
#endif

/// keytool's output conventions: results on stdout, diagnostics on stderr, JSON with sorted keys.
enum Console {
    static var standardOutputIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }

    /// One line of text output, escaped (``TerminalText``: also the bytes of a file name that are
    /// not UTF-8, as `\xHH`): lines quote file names and header strings, which anyone who can
    /// write a file may choose.
    static func line(_ text: String) { printLine(text) }

    /// "128 MiB"-style sizes.
    static func byteCount(_ bytes: UInt64) -> String {
        if bytes >= 1 << 30, bytes % (1 << 30) == 0 { return "\(bytes >> 30) GiB" }
        if bytes >= 1 << 20 { return "\(bytes >> 20) MiB" }
        if bytes >= 1 << 10 { return "\(bytes >> 10) KiB" }
        return "\(bytes) B"
    }

    static func kdfDescription(_ kdf: KDFParameters) -> String {
        let report = KDFReport(kdf)
        var text = kdf.description
        if let memory = report.memoryBytes { text += " (\(byteCount(memory)))" }
        if report.outOfBounds { text += "  [above the ceiling: refused]" } else if report.belowFloor { text += "  [below the security floor]" }
        return text
    }

    /// Writes raw bytes to stdout (used for deliberate exports only), bypassing Swift strings.
    static func writeRaw(_ secret: SecureBytes) throws {
        fflush(nil)
        try secret.withUnsafeBytes { buffer in
            do {
                _ = try FileDescriptor.standardOutput.writeAll(buffer)
            } catch let error as Errno {
                throw KeyFileError.io("stdout", path: "standard output", "cannot write: \(error.description)")
            }
        }
    }
}

/// Reading a key file the same way in every command.
enum KeyFileInput {
    static func sealed(_ path: String) throws -> SealedKeyFile {
        try SealedKeyFile(bytes: try SecureFile.read(path))
    }
}
