import Deployment
import Foundation
import KeyFile
import Testing

/// Runs every command of the three tools (successes and failures, text and JSON) with known
/// passwords, a known secret value and known key sets, then searches everything they printed and
/// every file they wrote (except key files and the deliberate `export-keys` output) for those
/// secrets: passwords as UTF-8, keys raw and in hex (both cases), base64 and base64url.
@Suite("Secret leaks")
struct SecretLeakTests {
    static let account = "CORP\\svc-leak"
    static let password = "Leak-Canary-pässwort-Ω-31415"
    static let newPassword = "Leak-Canary-second-Ж-27182"
    static let wrongPassword = "Leak-Canary-wrong-λ-16180"
    static let secretValue = "Leak-Canary-connector-secret-99"
    static let weak = ["--allow-weak-kdf", "--scrypt-log-n", "10"]

    final class Transcript: @unchecked Sendable {
        var results: [(label: String, result: ToolRunner.Result)] = []
        func record(_ label: String, _ result: ToolRunner.Result) { results.append((label, result)) }
    }

    @Test func noSecretInOutputOrWrittenFiles() async throws {
        let root = try TemporaryDirectory("miis-leak")
        let secrets = root.file("secrets")          // password files and deliberate exports
        let work = root.file("work")                // everything the tools write
        for directory in [secrets, work, work + "/keys", work + "/backups"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let pw = secrets + "/pw", pw2 = secrets + "/pw2", wrong = secrets + "/wrong"
        try (Self.password + "\n").write(toFile: pw, atomically: true, encoding: .utf8)
        try (Self.newPassword + "\n").write(toFile: pw2, atomically: true, encoding: .utf8)
        try (Self.wrongPassword + "\n").write(toFile: wrong, atomically: true, encoding: .utf8)
        let transcript = Transcript()
        func tool(_ name: String, _ arguments: [String], stdin: String? = nil, expect: Int32? = 0,
                  sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try ToolRunner.run(name, arguments, stdin: stdin, currentDirectory: work)
            transcript.record("\(name) \(arguments.joined(separator: " "))", result)
            if let expect {
                #expect(result.status == expect, "\(name) \(arguments): \(result.stderr)", sourceLocation: sourceLocation)
            }
        }
        let key = work + "/keys/a.key", copy = work + "/keys/b.key"
        let credentials = ["--account", Self.account, "--password-file", pw]

        // keytool: every subcommand, successes and failures.
        try tool("keytool", ["create", "-o", key, "--keys", "4", "--comment", "leak test"] + credentials + Self.weak)
        try tool("keytool", ["create", "-o", copy, "--algorithm", "hmac-sha-256", "--keys", "2"] + credentials + Self.weak)
        try tool("keytool", ["create", "-o", key] + credentials + Self.weak, expect: 15)
        for json in [[], ["--json"]] {
            try tool("keytool", ["inspect", key] + json)
            try tool("keytool", ["verify", key, "--allow-weak-kdf"] + json)
            try tool("keytool", ["verify", key, "--allow-weak-kdf"] + credentials + json)
            try tool("keytool", ["verify", key, "--allow-weak-kdf", "--account", Self.account, "--password-file", wrong] + json, expect: 11)
            try tool("keytool", ["list", key, "--allow-weak-kdf"] + credentials + json)
            try tool("keytool", ["list", key, "--allow-weak-kdf", "--account", Self.account, "--password-file", wrong] + json, expect: 11)
            try tool("keytool", ["audit", work + "/keys"] + json, expect: nil)
            try tool("keytool", ["diff", key, copy, "--allow-weak-kdf"] + credentials + json, expect: 41)
        }
        try tool("keytool", ["verify", key, "--allow-weak-kdf", "--password-stdin", "--account", Self.account], stdin: Self.password + "\n")
        try tool("keytool", ["export-keys", key, "--format", "hex"] + credentials + ["--allow-weak-kdf"], expect: 64)
        try tool("keytool", ["export-keys", key, "--format", "hex", "--allow-cleartext-output", "--account", Self.account,
                             "--password-file", wrong, "--allow-weak-kdf", "-o", secrets + "/never.hex"], expect: 11)
        try tool("keytool", ["passwd", copy, "--account", Self.account, "--password-file", wrong, "--new-password-file", pw2] + Self.weak, expect: 11)
        try tool("keytool", ["passwd", copy, "--account", Self.account, "--password-file", pw, "--new-password-file", pw2] + Self.weak)
        try tool("keytool", ["passwd", copy, "--account", Self.account, "--password-file", pw2, "--new-password-file", pw, "--keep-kdf", "--allow-weak-kdf"])

        // miisserver: every subcommand.
        let alpha = work + "/alpha", beta = work + "/beta", database = work + "/shared.sqlite"
        try tool("miisserver", ["setup", "--install-dir", alpha, "--name", "alpha", "--database", database, "--role", "primary",
                                "--admin-group", "root"] + credentials + Self.weak)
        // Hold a connection open so SQLite keeps shared.sqlite-wal and -shm for the scan below.
        let holder = try SQLiteDeploymentStore(path: database)
        _ = try await holder.schemaVersion()
        try tool("miisserver", ["setup", "--install-dir", beta, "--name", "beta", "--database", database, "--role", "standby",
                                "--account", Self.account, "--admin-group", "root"])
        try tool("miisserver", ["setup", "--install-dir", alpha, "--name", "alpha", "--database", database, "--role", "primary",
                                "--admin-group", "root", "--account", Self.account, "--password-file", wrong] + Self.weak, expect: 21)
        try tool("miisserver", ["secret", "set", "connector/ad", "--install-dir", alpha, "--password-file", pw, "--allow-weak-kdf"], stdin: Self.secretValue + "\n")
        try tool("miisserver", ["secret", "set", "connector/x", "--install-dir", alpha, "--password-file", wrong, "--allow-weak-kdf"], stdin: Self.secretValue + "\n", expect: 11)
        for json in [[], ["--json"]] {
            try tool("miisserver", ["status", "--install-dir", alpha] + json)
            try tool("miisserver", ["secret", "list", "--install-dir", alpha] + json)
            try tool("miisserver", ["history", "--install-dir", alpha] + json)
        }
        try tool("miisserver", ["password-sync", "--enable", "--target", "alpha", "--install-dir", alpha])
        try tool("miisserver", ["heartbeat", "--install-dir", alpha])
        try tool("miisserver", ["check", "--install-dir", alpha])
        try tool("miisserver", ["check", "--install-dir", beta], expect: 28)
        try tool("miisserver", ["repair", "--install-dir", alpha, "--admin-group", "root"])
        try tool("miisserver", ["backup", "--install-dir", alpha, "-o", work + "/backups/miiskeys-1.bin", "--password-file", pw] + Self.weak)
        try tool("miisserver", ["backup", "--install-dir", alpha, "-o", work + "/backups/miiskeys-2.bin", "--password-file", wrong] + Self.weak, expect: 11)
        let backup = work + "/backups/miiskeys-1.bin"

        // miisactivate: refusals (password sync, wrong password, primary alive), dry run, activation, again.
        func activate(_ extra: [String], password: String = Self.password, expect: Int32?) throws {
            try tool("miisactivate", [backup, Self.account, "*", "/q", "--allow-weak-kdf", "--install-dir", beta] + extra,
                     stdin: password + "\n", expect: expect)
        }
        for json in [[], ["--json"]] {
            try activate(json, expect: 24)
        }
        try tool("miisserver", ["password-sync", "--enable", "--target", "beta", "--install-dir", alpha])
        for json in [[], ["--json"]] {
            try activate(json, password: Self.wrongPassword, expect: 11)
            try activate(json, expect: 26)
            try activate(json + ["--dry-run", "--force", "--reason", "leak test"], expect: 0)
        }
        // The reference's syntax with the password as an argument (it warns; it must not echo it).
        try tool("miisactivate", [backup, Self.account, Self.password, "--allow-weak-kdf", "--install-dir", beta, "--dry-run",
                                  "--force", "--reason", "argv"], expect: 0)
        try activate(["--json", "--force", "--reason", "leak test"], expect: 0)
        try activate([], expect: 0)
        try activate(["--json"], expect: 0)
        try tool("miisserver", ["check", "--install-dir", beta])
        try tool("miisserver", ["repair", "--install-dir", beta, "--account", "CORP\\svc-other", "--password-file", pw,
                                "--new-password-file", pw2, "--allow-weak-kdf"])

        // The known key material: every key set involved, exported deliberately into `secrets/`.
        var keyHex: Set<String> = []
        for (file, password) in [(key, pw), (copy, pw), (alpha + "/keys/keyset.bin", pw), (backup, pw)] {
            let output = secrets + "/export-\(keyHex.count).hex"
            try tool("keytool", ["export-keys", file, "--format", "hex", "--allow-cleartext-output", "-o", output,
                                 "--account", Self.account, "--password-file", password, "--allow-weak-kdf"])
            for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
                if let hex = line.split(separator: " ").last, hex.count == 64 { keyHex.insert(String(hex)) }
            }
        }
        #expect(keyHex.count == 4 + 2 + 1, "expected 7 distinct keys, got \(keyHex.count)")

        var needles: [(String, [UInt8])] = []
        for (name, text) in [("password", Self.password), ("new password", Self.newPassword), ("wrong password", Self.wrongPassword),
                             ("secret value", Self.secretValue)] {
            needles.append((name, Array(text.utf8)))
        }
        for hex in keyHex {
            let raw = Self.bytes(hex: hex)
            let base64 = Data(raw).base64EncodedString()
            let unpadded = String(base64.prefix(43))
            let base64url = unpadded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            needles += [("key raw", raw), ("key hex", Array(hex.lowercased().utf8)), ("key HEX", Array(hex.uppercased().utf8)),
                        ("key base64", Array(unpadded.utf8)), ("key base64url", Array(base64url.utf8))]
        }

        // Positive controls: the search finds what is deliberately there.
        let exported = try [UInt8](Data(contentsOf: URL(fileURLWithPath: secrets + "/export-0.hex")))
        #expect(needles.filter { $0.0 == "key hex" }.contains { Self.contains(exported, $0.1) })
        #expect(Self.contains(try [UInt8](Data(contentsOf: URL(fileURLWithPath: pw))), needles[0].1))

        // Everything printed.
        #expect(transcript.results.count >= 50)
        for (label, result) in transcript.results {
            let printed = Array(result.allOutput.utf8)
            for (name, needle) in needles where Self.contains(printed, needle) {
                Issue.record("\(name) appears in the output of: \(label)")
            }
        }
        // Every file written, except key files (recognized by their magic) and anything in secrets/.
        var scanned: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: work)
        while let relative = enumerator?.nextObject() as? String {
            let path = work + "/" + relative
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            if (try? SealedKeyFile.inspect(bytes: bytes)) != nil { continue }
            scanned.append(relative)
            for (name, needle) in needles where Self.contains(bytes, needle) {
                Issue.record("\(name) appears in \(relative)")
            }
        }
        for expected in ["shared.sqlite", "shared.sqlite-wal", "shared.sqlite-shm", "alpha/server.json", "beta/server.json", "alpha/keys/activation.json", "beta/keys/activation.json"] {
            #expect(scanned.contains(expected), "\(expected) was scanned; scanned: \(scanned)")
        }
        try await holder.close()
    }

    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
