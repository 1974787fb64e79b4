import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds the first option or subcommand on a command line that the tool does not have, and names
/// it with ``Suggestions``' nearest spelling: `unknown option '--verbse'; did you mean '--verbose'?`.
/// Only run after parsing failed, so a correct command line never pays for it.
enum UnknownWord {
    static func find(in arguments: [String], tool: any ParsableCommand.Type) -> String? {
        guard let info = try? JSONDecoder().decode(DumpedTool.self, from: Data(tool._dumpHelp().utf8)) else { return nil }
        var command = info.command
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { return nil }
            if argument.hasPrefix("--") {
                let name = String(argument.prefix(while: { $0 != "=" }))
                guard let known = command.argument(named: name) else {
                    return "unknown option '\(name)'" + Suggestions.clause(for: name, among: command.longNames)
                }
                if known.kind == "option", !argument.contains("=") { index += 1 }
            } else if argument.hasPrefix("-"), argument.count > 1 {
                // A short option (or a cluster): skip its value; ArgumentParser speaks for the rest.
                if let known = command.argument(named: String(argument.prefix(2))), known.kind == "option", argument.count == 2 { index += 1 }
            } else if let subcommands = command.subcommands, !subcommands.isEmpty, !command.hasPositionals {
                if argument == "help" { return nil }
                guard let next = subcommands.first(where: { $0.commandName == argument }) else {
                    return "unknown command '\(argument)'" + Suggestions.clause(for: argument, among: subcommands.map(\.commandName))
                }
                command = next
            }
        }
        return nil
    }
}

/// The part of ArgumentParser's `--experimental-dump-help` document (ToolInfoV0) read here.
private struct DumpedTool: Decodable {
    let command: DumpedCommand
}

private struct DumpedCommand: Decodable {
    struct Argument: Decodable {
        struct Name: Decodable {
            let kind: String
            let name: String
            var spelled: String { kind == "short" ? "-" + name : (kind == "long" ? "--" + name : "-" + name) }
        }
        let kind: String
        let names: [Name]?
    }
    let commandName: String
    let arguments: [Argument]?
    let subcommands: [DumpedCommand]?

    func argument(named spelled: String) -> Argument? {
        (arguments ?? []).first { $0.names?.contains { $0.spelled == spelled } ?? false }
            ?? Self.builtIns.first { $0.names?.first?.spelled == spelled }
    }
    /// ArgumentParser's own options that its document leaves out.
    private static let builtIns = [
        Argument(kind: "option", names: [Argument.Name(kind: "long", name: "generate-completion-script")]),
        Argument(kind: "flag", names: [Argument.Name(kind: "long", name: "experimental-dump-help")]),
    ]
    var longNames: [String] {
        (arguments ?? []).flatMap { $0.names ?? [] }.filter { $0.kind == "long" }.map(\.spelled)
    }
    var hasPositionals: Bool { arguments?.contains { $0.kind == "positional" } ?? false }
}
