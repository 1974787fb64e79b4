import Foundation
import KeyFile
import Testing

@Suite struct KeytoolLeakTests {
    /// Runs every command with a known password and checks that neither the password nor any
    /// key's hex, base64 or base64url appears in stdout or stderr. export-keys writes to a file
    /// (its deliberate output) and is checked only for what it prints.
    @Test func noCommandPrintsThePasswordOrKeyMaterial() throws {
        let fixture = try KeytoolFixture()
        let path = fixture.directory.file("leak.key")
        let creds = fixture.credentialArguments
        var outputs: [(String, ToolRunner.Result)] = []
        func run(_ arguments: [String], stdin: String? = nil) throws {
            outputs.append((arguments.joined(separator: " "), try keytool(arguments, stdin: stdin)))
        }
        try run(["create", "-o", path, "--keys", "4", "--scrypt-log-n", "10"] + creds)
        let opened = try SealedKeyFile(bytes: try SecureFile.read(path)).open(with: try KeytoolFixture.credentials(), policy: .allowWeak)
        let copy = fixture.directory.file("copy.key")
        try FileManager.default.copyItem(atPath: path, toPath: copy)

        try run(["inspect", path])
        try run(["inspect", path, "--json"])
        try run(["verify", fixture.directory.path, "--allow-weak-kdf"])
        try run(["verify", path, "--json"] + creds)
        try run(["verify", path, "--account", KeytoolFixture.account, "--password-stdin", "--allow-weak-kdf"], stdin: KeytoolFixture.password + "\n")
        try run(["list", path] + creds)
        try run(["list", path, "--json"] + creds)
        try run(["list", path, "--account", "other", "--password-file", fixture.passwordFile, "--allow-weak-kdf"])
        try run(["audit", path])
        try run(["audit", path, "--json"])
        try run(["diff", path, copy] + creds)
        try run(["diff", path, copy, "--json"] + creds)
        try run(["export-keys", path, "--format", "jwk", "--allow-cleartext-output", "-o", fixture.directory.file("out.jwk")] + creds)
        try run(["export-keys", path, "--format", "hex", "--allow-cleartext-output", "-o", fixture.directory.file("out.hex")] + creds)
        try run(["export-keys", path, "--format", "jwk"] + creds)  // refused: no flag
        try run(["passwd", copy, "--new-password-stdin", "--scrypt-log-n", "10"] + creds, stdin: "the next password\n")
        try run(["list", copy, "--account", KeytoolFixture.account, "--password-stdin", "--allow-weak-kdf"], stdin: "wrong " + KeytoolFixture.password + "\n")

        let secrets = KeytoolFixture.secretForms(of: opened) + [KeytoolFixture.password, "the next password"]
        #expect(outputs.count == 18)
        for (command, result) in outputs {
            for secret in secrets {
                #expect(!result.allOutput.contains(secret), "\(command) printed a secret")
            }
        }
        // The export files do hold the material (that is their purpose).
        let jwk = try String(contentsOfFile: fixture.directory.file("out.jwk"), encoding: .utf8)
        #expect(opened.keySet.keys.allSatisfy { key in KeytoolFixture.secretForms(of: opened).contains { jwk.contains($0) } })
    }
}
