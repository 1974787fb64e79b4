import Foundation
import Testing

/// Typed options (issue 12): every value is parsed into its type, and an option that the command
/// would not use is refused (exit 64, one line) instead of silently ignored.
@Suite struct TypedOptionsTests {
    static func expectUsage(_ result: ToolRunner.Result, _ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 64, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr == line + "\n", sourceLocation: sourceLocation)
    }

    @Test func repairRefusesKDFOptionsItWouldIgnore() throws {
        let sandbox = try DeploymentSandbox()
        try sandbox.setupPrimary()
        // Release 1.1 accepted `setup --repair --admin-group G --scrypt-r 16` and ignored --scrypt-r.
        let ignored = try sandbox.miis(["repair", "--install-dir", sandbox.install("alpha"), "--admin-group", "root", "--scrypt-r", "16"])
        Self.expectUsage(ignored, "miisserver: --kdf and its options re-seal the key set, which only --account does")
        let old = try sandbox.miis(["setup", "--repair", "--install-dir", sandbox.install("alpha"), "--admin-group", "root"])
        Self.expectUsage(old, "miisserver: repairing is its own command now: miisserver repair (same options as setup --repair had)")
        let repaired = try sandbox.miis(["repair", "--install-dir", sandbox.install("alpha"), "--admin-group", "root"])
        #expect(repaired.status == 0, "\(repaired.stderr)")
    }

    @Test func setupTakesARoleInAnyCaseAndRefusesOthers() throws {
        let sandbox = try DeploymentSandbox()
        let bad = try sandbox.miis(["setup", "--install-dir", sandbox.install("alpha"), "--name", "alpha", "--database", sandbox.database,
                                    "--role", "leader", "--account", "CORP\\svc"])
        #expect(bad.status == 64)
        #expect(bad.stderr.hasPrefix("miisserver: The value 'leader' is invalid for '--role <role>'"), "\(bad.stderr)")
        #expect(bad.stderr.contains("primary") && bad.stderr.contains("standby"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        let standbyKDF = try sandbox.miis(["setup", "--install-dir", sandbox.install("beta"), "--name", "beta", "--database", sandbox.database,
                                           "--role", "STANDBY", "--account", "CORP\\svc", "--kdf", "pbkdf2"])
        Self.expectUsage(standbyKDF, "miisserver: a standby installs no keys: --kdf and its options are a primary's")
        #expect(try sandbox.setupPrimary(extra: ["--role", "Primary"]).status == 0)
    }

    @Test func keytoolKDFAndValueOptionsAreTyped() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("typed-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let passwordFile = directory + "/pw"
        try "Typed-Passw0rd\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let file = directory + "/k.key"
        let credentials = ["--account", "CORP\\svc", "--password-file", passwordFile]
        let mixed = try ToolRunner.run("keytool", ["create", "-o", file, "--kdf", "pbkdf2", "--scrypt-log-n", "10"] + credentials)
        Self.expectUsage(mixed, "keytool: --scrypt-log-n, --scrypt-r and --scrypt-p go with --kdf scrypt, not pbkdf2")
        #expect(!FileManager.default.fileExists(atPath: file))
        let iterations = try ToolRunner.run("keytool", ["create", "-o", file, "--kdf", "scrypt", "--pbkdf2-iterations", "1000"] + credentials)
        Self.expectUsage(iterations, "keytool: --pbkdf2-iterations goes with --kdf pbkdf2")
        let created = try ToolRunner.run("keytool", ["create", "-o", file, "--kdf", "SCRYPT", "--scrypt-log-n", "10", "--allow-weak-kdf"] + credentials)
        #expect(created.status == 0, "\(created.stderr)")
        let keep = try ToolRunner.run("keytool", ["passwd", file, "--keep-kdf", "--kdf", "pbkdf2", "--new-password-file", passwordFile] + credentials)
        Self.expectUsage(keep, "keytool: --keep-kdf keeps the file's KDF parameters: drop --kdf and its cost options")
        let severity = try ToolRunner.run("keytool", ["audit", file, "--fail-on", "severe"])
        #expect(severity.status == 64)
        #expect(severity.stderr.hasPrefix("keytool: The value 'severe' is invalid for '--fail-on <fail-on>'"), "\(severity.stderr)")
        #expect(try ToolRunner.run("keytool", ["audit", file, "--fail-on", "HIGH"]).status != 64)
        let format = try ToolRunner.run("keytool", ["export-keys", file, "--format", "pem", "--allow-cleartext-output"] + credentials)
        #expect(format.status == 64)
        #expect(format.stderr.hasPrefix("keytool: The value 'pem' is invalid for '--format <format>'"), "\(format.stderr)")
    }
}
