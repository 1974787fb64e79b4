/// Constants of the key-file format; `docs/key-file-format.md` is their specification.
public enum KeyFileFormat {
    public static let majorVersion: UInt8 = 1
    public static let minorVersion: UInt8 = 0
    /// `\x89 M I I S K E Y \r \n \x1a \n`: the high byte catches 7-bit channels, CR LF and the
    /// lone LF catch newline conversion, 0x1A stops `type` on DOS-like systems.
    public static let magic: [UInt8] = [0x89, 0x4D, 0x49, 0x49, 0x53, 0x4B, 0x45, 0x59, 0x0D, 0x0A, 0x1A, 0x0A]
}
