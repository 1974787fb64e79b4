import ArgumentParser
import KeyFile

// The typed values of keytool's options: ArgumentParser refuses anything else with one usage line
// that lists the accepted values, and help shows them.

extension AuditSeverity: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public static var allValueStrings: [String] { allCases.map(\.description) }
    public var defaultValueDescription: String { description }
}

extension KeyMaterialExport.Format: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.lowercased()) }
}

extension KeyAlgorithm: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument.lowercased() {
        case "aes-256-gcm", "aes256gcm", "a256gcm": self = .aes256GCM
        case "hmac-sha-256", "hmac-sha256", "hs256": self = .hmacSHA256
        default: return nil
        }
    }
    public static var allValueStrings: [String] { ["aes-256-gcm", "hmac-sha-256"] }
    public var defaultValueDescription: String { self == .aes256GCM ? "aes-256-gcm" : "hmac-sha-256" }
}
