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
