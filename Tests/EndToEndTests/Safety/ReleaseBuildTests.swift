import Deployment
import Foundation
import Testing

/// Fault points exist only in debug builds: a release binary ignores `MIIS_FAULT_POINT` (it must
/// never SIGKILL itself or fail on purpose because of its environment). Runs when a release
/// build sits next to the debug one (`make release`; `make test` builds it and requires it).
@Suite("Release build")
struct ReleaseBuildTests {
    static let releaseKeytool = ReleaseProducts.path(of: "keytool")

    @Test(ReleaseProducts.condition)
    func releaseBinaryIgnoresFaultPoints() throws {
        guard ReleaseProducts.check() else { return }
        let directory = try TemporaryDirectory("miis-release")
        try "release-Pässword\n".write(toFile: directory.file("pw"), atomically: true, encoding: .utf8)
        for (index, point) in ["verified-write.before-commit", "atomic-write.before-rename:error", "verified-write.before-commit:error"].enumerated() {
            let output = directory.file("k\(index).bin")
            let result = try ToolRunner.run(Self.releaseKeytool, ["create", "-o", output, "--account", "CORP\\svc",
                                                                  "--password-file", directory.file("pw"), "--keys", "2"] + CrashSafetyTests.weak,
                                            environment: ["MIIS_FAULT_POINT": point])
            #expect(result.status == 0, "\(point): exit \(result.status): \(result.stderr) (a release build older than the fault points' #if DEBUG? rebuild it with make release)")
            #expect(FileManager.default.fileExists(atPath: output), "\(point)")
        }
        // Compiled out, not merely unarmed: the variable's name is nowhere in the binary.
        let binary = try Data(contentsOf: URL(fileURLWithPath: Self.releaseKeytool))
        #expect(binary.range(of: Data("MIIS_FAULT_POINT".utf8)) == nil)
    }

    static let releaseMiisserver = ReleaseProducts.path(of: "miisserver")

    /// The software version a server records is the binary's: a release build has no test
    /// switch to be another release (`MIIS_TEST_SOFTWARE_VERSION` is compiled out, its name is
    /// not in the binary), so a primary it sets up records this build's release and creates its
    /// schema whatever the environment says.
    @Test(ReleaseProducts.condition)
    func releaseBinaryIgnoresTheTestSoftwareVersion() throws {
        guard ReleaseProducts.check() else { return }
        let directory = try TemporaryDirectory("miis-release-version")
        try "release-Pässword\n".write(toFile: directory.file("pw"), atomically: true, encoding: .utf8)
        chmod(directory.file("pw"), 0o600)
        let environment = ["MIIS_TEST_SOFTWARE_VERSION": "1.1.0"]
        let setup = try ToolRunner.run(Self.releaseMiisserver, ["setup", "--install-dir", directory.file("p"), "--name", "p",
                                                               "--database", directory.file("db"), "--role", "primary", "--account", "svc",
                                                               "--admin-group", "root", "--password-file", directory.file("pw")] + CrashSafetyTests.weak,
                                       environment: environment)
        #expect(setup.status == 0, "\(setup.stderr)")
        // The debug build running this test has no simulated release either (none is set here).
        #expect(setup.stdout.contains("(database schema \(SchemaCatalog.current))"), "\(setup.stdout)")
        let configuration = try Data(contentsOf: URL(fileURLWithPath: directory.file("p") + "/server.json"))
        #expect(String(decoding: configuration, as: UTF8.self).contains("\"\(SchemaCatalog.currentSoftwareVersion)\""))
        let binary = try Data(contentsOf: URL(fileURLWithPath: Self.releaseMiisserver))
        #expect(binary.range(of: Data("MIIS_TEST_SOFTWARE_VERSION".utf8)) == nil)
        // Nor can the tests' switch for the PostgreSQL operation watchdog shorten a release build's.
        #expect(binary.range(of: Data("MIIS_TEST_POSTGRES_OPERATION_TIMEOUT".utf8)) == nil)
    }

    /// `make release` links with lld, packed relative relocations and without the toolchain's
    /// `--export-dynamic` (BENCHMARKS.md, "Release link flags"): fewer relocations and no dynamic
    /// symbol table of every public Swift symbol, so a faster start-up and a smaller binary.
    @Test(ReleaseProducts.condition)
    func releaseBinaryIsLinkedWithTheReleaseFlags() throws {
        guard ReleaseProducts.check() else { return }
        let rebuild = "(rebuild with make release)"
        let comment = try ToolRunner.run("/usr/bin/readelf", ["--string-dump=.comment", Self.releaseKeytool])
        #expect(comment.stdout.contains("Linker: LLD"), "not linked by lld \(rebuild)")
        let dynamic = try ToolRunner.run("/usr/bin/readelf", ["--dynamic", "--wide", Self.releaseKeytool])
        #expect(dynamic.stdout.contains("(RELR)"), "no packed relative relocations \(rebuild)")
        // -z now: every symbol bound at start-up, the relocations read-only after (full RELRO).
        #expect(dynamic.stdout.contains("BIND_NOW") || dynamic.stdout.contains("Flags: NOW"), "not linked with -z now \(rebuild)")
        // Swift symbols are mangled with a `$s` prefix: none is left in the dynamic symbol table.
        let symbols = try ToolRunner.run("/usr/bin/readelf", ["--dyn-syms", "--wide", Self.releaseKeytool])
        let exported = symbols.stdout.split(separator: "\n").filter { $0.contains(" $s") }
        #expect(exported.isEmpty, "\(exported.count) Swift symbols exported \(rebuild)")
    }
}
