import Foundation
import Testing

/// The module graph of issue 12, checked on the built binaries: keytool links the key-file
/// library only, not the deployment stack (NIO, PostgresNIO, GRDB, libsqlite3).
@Suite struct ModuleGraphTests {
    /// Module names as they appear in Swift's mangled symbols (`$s4GRDB...`, `7NIOCore`).
    static let deploymentModules = ["4GRDB", "7NIOCore", "11PostgresNIO", "10Deployment", "21DeploymentCommandLine"]

    static func definedSymbols(_ tool: String) throws -> String {
        try ToolRunner.run("/usr/bin/nm", ["--defined-only", ToolRunner.path(of: tool)], timeout: 300).stdout
    }

    @Test func keytoolLinksNoDeploymentModule() throws {
        let symbols = try Self.definedSymbols("keytool")
        #expect(symbols.contains("7KeyFile"), "nm found no KeyFile symbol: the check would pass vacuously")
        for module in Self.deploymentModules {
            #expect(!symbols.contains("$s\(module)"), "keytool links \(module)")
        }
        let libraries = try ToolRunner.run("/usr/bin/ldd", [ToolRunner.path(of: "keytool")]).stdout
        #expect(libraries.contains("libcrypto"))
        #expect(!libraries.contains("libsqlite3"), "\(libraries)")
    }

    @Test func deploymentToolsLinkTheDeploymentStack() throws {
        // The same check passes for keytool only because the modules are absent there.
        for tool in ["miisserver", "miisactivate"] {
            let symbols = try Self.definedSymbols(tool)
            #expect(symbols.contains("$s10Deployment"), "\(tool)")
            #expect(symbols.contains("$s4GRDB"), "\(tool)")
        }
    }

    @Test func keytoolHasNoBackupCommandAndMiisserverHasIt() throws {
        let keytool = try ToolRunner.run("keytool", ["backup", "--install-dir", "/srv/miis", "-o", "keys.bin"])
        #expect(keytool.status == 64)
        #expect(keytool.stderr == "keytool: backup is now 'miisserver backup' (same options): it needs the server installation and its database\n")
        #expect(!(try ToolRunner.run("keytool", ["--help"]).stdout.contains("backup")))
        let miisserver = try ToolRunner.run("miisserver", ["backup", "--help"])
        #expect(miisserver.status == 0)
        #expect(miisserver.stdout.contains("--keep-kdf") && miisserver.stdout.contains("--output"))
    }
}
