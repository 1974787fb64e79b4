import Foundation
import KeyFile
import Testing

/// Runs `keytool` as a user would.
func keytool(_ arguments: [String], stdin: String? = nil) throws -> ToolRunner.Result {
    try ToolRunner.run("keytool", arguments, stdin: stdin)
}

@Suite struct KeytoolCommandTests {
    @Test func helpListsTheExitCodesAndUsageErrorsExit64() throws {
        let help = try keytool(["--help"])
        #expect(help.status == 0)
        for code in ["10", "11", "12", "13", "14", "15", "20", "21", "64"] { #expect(help.stdout.contains("  \(code)  ")) }
        for command in ["inspect", "verify", "list", "create", "passwd", "export-keys", "audit", "diff"] { #expect(help.stdout.contains(command)) }
        #expect(try keytool(["verify", "--no-such-option", "x"]).status == 64)
        #expect(try keytool(["list", "x", "--account", "a", "--password", "hunter2"]).status == 64)
        #expect(try keytool(["frobnicate"]).status == 64)
    }

    @Test func createInspectListPasswdRoundTrip() throws {
        let fixture = try KeytoolFixture()
        let path = fixture.directory.file("new.key")
        let created = try keytool(["create", "-o", path, "--server", "sync-primary", "--keys", "3", "--scrypt-log-n", "10"] + fixture.credentialArguments)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("created \(path)"))
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)

        // Refuses to overwrite without --force; --force replaces.
        let again = try keytool(["create", "-o", path, "--scrypt-log-n", "10"] + fixture.credentialArguments)
        #expect(again.status == 15)
        #expect(again.stderr.hasPrefix("keytool: ") && again.stderr.contains("--force"))
        // A weak KDF without --allow-weak-kdf is refused before anything is written.
        #expect(try keytool(["create", "-o", fixture.directory.file("weak.key"), "--scrypt-log-n", "10", "--account", "a", "--password-file", fixture.passwordFile]).status == 14)
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.file("weak.key")))

        let inspect = try keytool(["inspect", path])
        #expect(inspect.status == 0)
        for text in ["sync-primary", "corp\\sync", "scrypt N=2^10 r=8 p=1", "AES-256-GCM", "checksum", "not authenticated without the password"] {
            #expect(inspect.stdout.contains(text))
        }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(try keytool(["inspect", path, "--json"]).stdout.utf8)) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 1)
        #expect(json["checksumValid"] as? Bool == true)
        #expect(json["headerAuthenticated"] as? Bool == false)
        let header = try #require(json["header"] as? [String: Any])
        #expect((header["keys"] as? [Any])?.count == 3)
        #expect(header["sourceServer"] as? String == "sync-primary")

        let list = try keytool(["list", path, "--json"] + fixture.credentialArguments)
        #expect(list.status == 0)
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        let fingerprint = try #require(listed["fingerprint"] as? String)
        #expect((listed["keys"] as? [[String: Any]])?.compactMap { $0["checkValue"] as? String }.count == 3)
        #expect(try keytool(["list", path] + fixture.credentialArguments).stdout.contains("CHECK VALUE"))

        // passwd: new password from a second file, new account, stronger-but-fast KDF.
        let newPasswordFile = fixture.directory.file("new-password.txt")
        try KeytoolFixture.write(Array("another passphrase\n".utf8), to: newPasswordFile)
        let passwd = try keytool(["passwd", path, "--new-account", "\\svc2", "--new-password-file", newPasswordFile, "--scrypt-log-n", "11"] + fixture.credentialArguments)
        #expect(passwd.status == 0, "\(passwd.stderr)")
        #expect(passwd.stdout.contains(fingerprint))
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o600)
        #expect(try keytool(["list", path] + fixture.credentialArguments).status == 11)
        let relisted = try keytool(["list", path, "--json", "--account", "svc2", "--password-stdin", "--allow-weak-kdf"], stdin: "another passphrase\n")
        #expect(relisted.status == 0)
        #expect(relisted.stdout.contains(fingerprint))
        #expect(try keytool(["inspect", path]).stdout.contains("scrypt N=2^11"))
        // Both passwords from stdin is a usage error; a wrong old password changes nothing.
        #expect(try keytool(["passwd", path, "--account", "svc2", "--password-stdin", "--new-password-stdin"], stdin: "x\ny\n").status == 64)
        let before = try SecureFile.read(path)
        #expect(try keytool(["passwd", path, "--account", "svc2", "--password-file", fixture.passwordFile, "--new-password-file", newPasswordFile, "--allow-weak-kdf", "--keep-kdf"]).status == 11)
        #expect(try SecureFile.read(path) == before)
    }

    @Test func inspectReportsDamageWithItsExitCode() throws {
        let fixture = try KeytoolFixture()
        let good = try fixture.writeFile("good.key")
        var flipped = good.bytes
        flipped[30] ^= 0x40
        try KeytoolFixture.write(flipped, to: fixture.directory.file("flipped.key"))
        let damaged = try keytool(["inspect", fixture.directory.file("flipped.key")])
        #expect(damaged.status == 10)
        #expect(damaged.stdout.contains("MISMATCH"))
        #expect(damaged.stderr.hasPrefix("keytool: ") && damaged.stderr.split(separator: "\n").count == 1)
        try KeytoolFixture.write(Array(good.bytes.prefix(100)), to: fixture.directory.file("truncated.key"))
        #expect(try keytool(["inspect", fixture.directory.file("truncated.key")]).status == 10)
        try KeytoolFixture.write(try KeytoolFixture.futureVersion(good.bytes), to: fixture.directory.file("v2.key"))
        #expect(try keytool(["inspect", fixture.directory.file("v2.key")]).status == 13)
        #expect(try keytool(["inspect", fixture.directory.path]).status == 15)
        symlink(fixture.directory.file("gone"), fixture.directory.file("dangling.key"))
        #expect(try keytool(["inspect", fixture.directory.file("dangling.key")]).status == 15)
    }

    @Test func listAndExportRefuseEveryBadFileWithItsOwnCode() throws {
        let fixture = try KeytoolFixture()
        let good = try fixture.writeFile("good.key")
        let cases: [(String, [UInt8], Int32)] = [
            ("corrupted.key", { var b = good.bytes; b[50] ^= 1; return b }(), 10),
            ("truncated.key", Array(good.bytes.dropLast(7)), 10),
            ("other-password.key", try KeytoolFixture.makeFile(password: "something else").bytes, 11),
            ("tampered.key", try KeytoolFixture.tampered(good.bytes), 12),
            ("future.key", try KeytoolFixture.futureVersion(good.bytes), 13),
            ("ceiling.key", try KeytoolFixture.withScryptLogN(30, good.bytes), 14),
        ]
        for (name, bytes, code) in cases {
            try KeytoolFixture.write(bytes, to: fixture.directory.file(name))
            let list = try keytool(["list", fixture.directory.file(name)] + fixture.credentialArguments)
            #expect(list.status == code, "\(name): \(list.stderr)")
            #expect(list.stderr.hasPrefix("keytool: "), "\(name)")
            #expect(try keytool(["verify", fixture.directory.file(name)] + fixture.credentialArguments).status == code, "\(name)")
        }
        // Weak parameters are refused (14) unless explicitly allowed.
        #expect(try keytool(["list", good.path, "--account", KeytoolFixture.account, "--password-file", fixture.passwordFile]).status == 14)
        #expect(try keytool(["list", fixture.directory.path] + fixture.credentialArguments).status == 15)
    }

    @Test func exportKeysNeedsTheFlagAndWritesJWKPrivately() throws {
        let fixture = try KeytoolFixture()
        let good = try fixture.writeFile("good.key", keys: 2)
        let refused = try keytool(["export-keys", good.path, "--format", "jwk"] + fixture.credentialArguments)
        #expect(refused.status == 64)
        #expect(refused.stdout.isEmpty)

        let out = fixture.directory.file("keys.jwk")
        let exported = try keytool(["export-keys", good.path, "--format", "jwk", "--allow-cleartext-output", "-o", out] + fixture.credentialArguments)
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout.isEmpty)
        var status = stat()
        #expect(stat(out, &status) == 0 && status.st_mode & 0o777 == 0o600)
        struct JWKSet: Decodable { struct JWK: Decodable { let kty, kid, alg, k: String }; let keys: [JWK] }
        let set = try JSONDecoder().decode(JWKSet.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(set.keys.map(\.kid) == ["1", "2"])
        #expect(set.keys.allSatisfy { $0.kty == "oct" && $0.alg == "A256GCM" && !$0.k.contains("=") })
        let forms = KeytoolFixture.secretForms(of: good.file)
        #expect(set.keys.allSatisfy { forms.contains($0.k) })
        // An existing output file is refused.
        #expect(try keytool(["export-keys", good.path, "--allow-cleartext-output", "-o", out] + fixture.credentialArguments).status == 15)

        // Hex to a pipe (not a terminal) is allowed with the flag.
        let hex = try keytool(["export-keys", good.path, "--format", "hex", "--allow-cleartext-output"] + fixture.credentialArguments)
        #expect(hex.status == 0)
        #expect(hex.stdout.split(separator: "\n").count == 2)
        #expect(hex.stdout.contains(good.file.keySet.keys[0].material.unsafeCopyToArray().hexString))
    }

    @Test func auditReportsFindingsAndExits20AtTheThreshold() throws {
        let fixture = try KeytoolFixture()
        let weak = try fixture.writeFile("weak.key")
        let weakAudit = try keytool(["audit", weak.path])
        #expect(weakAudit.status == 40)
        #expect(weakAudit.stdout.contains("kdf.below-floor"))
        #expect(weakAudit.stdout.contains("header.unauthenticated"))

        // A file claiming today's recommended parameters (the audit does not derive keys).
        let strongDirectory = try TemporaryDirectory("keytool-audit")
        chmod(strongDirectory.path, 0o700)
        let strong = strongDirectory.file("strong.key")
        let old = Int64(Date().timeIntervalSince1970) - 100 * 86_400
        try KeytoolFixture.write(try KeytoolFixture.withScryptLogN(17, try KeytoolFixture.makeFile(createdAt: old).bytes), to: strong)
        let clean = try keytool(["audit", strong])
        #expect(clean.status == 0, "\(clean.stdout)")
        #expect(try keytool(["audit", strong, "--fail-on", "info"]).status == 40)
        let aged = try keytool(["audit", strong, "--max-age", "90", "--fail-on", "medium", "--json"])
        #expect(aged.status == 40)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(aged.stdout.utf8)) as? [String: Any])
        #expect(report["schemaVersion"] as? Int == 1)
        #expect(report["failed"] as? Bool == true)
        let files = try #require(report["files"] as? [[String: Any]])
        let ids = (files.first?["findings"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids.contains("age.exceeded"))
        #expect(files.first?["headerAuthenticated"] as? Bool == false)

        chmod(strong, 0o644)
        let loose = try keytool(["audit", strong])
        #expect(loose.status == 40)
        #expect(loose.stdout.contains("permissions.world-readable"))
        #expect(try keytool(["audit", strong, "--fail-on", "severe"]).status == 64)
    }

    @Test func diffComparesIDsAndWithCredentialsCheckValues() throws {
        let fixture = try KeytoolFixture()
        let a = try fixture.writeFile("a.key", keys: 2)
        // Same key set re-protected under another password.
        let otherCredentials = try KeytoolFixture.credentials(password: "b's password")
        let copy = try a.file.reprotected(account: otherCredentials.account, kdf: KeytoolFixture.weakKDF, policy: .allowWeak)
        try KeytoolFixture.write(try copy.serialized(with: otherCredentials), to: fixture.directory.file("copy.key"))
        let bPasswordFile = fixture.directory.file("b-password.txt")
        try KeytoolFixture.write(Array("b's password\n".utf8), to: bPasswordFile)

        #expect(try keytool(["diff", a.path, fixture.directory.file("copy.key")]).status == 0)
        let same = try keytool(["diff", a.path, fixture.directory.file("copy.key"), "--password-file-b", bPasswordFile] + fixture.credentialArguments)
        #expect(same.status == 0, "\(same.stderr)")
        #expect(same.stdout.contains("same key set (key IDs and check values compared)"))

        let unrelated = try fixture.writeFile("unrelated.key")
        let different = try keytool(["diff", a.path, unrelated.path])
        #expect(different.status == 41)
        #expect(different.stdout.contains("key-set IDs differ"))

        // Same ID, key 2 with other material: only credentials reveal it.
        let fresh = try KeySet.generate(count: 2)
        let mixed = try KeySet(id: a.file.keySet.id, keys: [a.file.keySet.keys[0], fresh.keys[1]])
        try KeytoolFixture.write(try KeytoolFixture.makeFile(keySet: mixed).bytes, to: fixture.directory.file("mixed.key"))
        #expect(try keytool(["diff", a.path, fixture.directory.file("mixed.key")]).status == 0)
        let material = try keytool(["diff", a.path, fixture.directory.file("mixed.key"), "--json"] + fixture.credentialArguments)
        #expect(material.status == 41)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(material.stdout.utf8)) as? [String: Any])
        #expect(report["same"] as? Bool == false)
        #expect((report["differences"] as? [[String: Any]])?.first?["kind"] as? String == "material")
        #expect((report["differences"] as? [[String: Any]])?.first?["id"] as? Int == 2)
        // Wrong credentials for B are reported as such.
        #expect(try keytool(["diff", a.path, fixture.directory.file("copy.key")] + fixture.credentialArguments).status == 11)
    }
}
