import Foundation
import KeyFile
import Testing

@Suite struct KeytoolVerifyTests {
    /// One file of each failure class, named so that sorted order is predictable.
    func mixedDirectory(_ fixture: KeytoolFixture) throws -> String {
        let dir = fixture.directory.file("mixed")
        try FileManager.default.createDirectory(atPath: dir + "/nested", withIntermediateDirectories: true)
        let good = try KeytoolFixture.makeFile()
        try KeytoolFixture.write(good.bytes, to: dir + "/a-good.key")
        try KeytoolFixture.write({ var b = good.bytes; b[60] ^= 4; return b }(), to: dir + "/b-corrupted.key")
        try KeytoolFixture.write(try KeytoolFixture.makeFile(password: "nope").bytes, to: dir + "/c-wrong-password.key")
        try KeytoolFixture.write(try KeytoolFixture.tampered(good.bytes), to: dir + "/d-tampered.key")
        try KeytoolFixture.write(try KeytoolFixture.futureVersion(good.bytes), to: dir + "/e-future.key")
        try KeytoolFixture.write(try KeytoolFixture.withScryptLogN(30, good.bytes), to: dir + "/f-ceiling.key")
        symlink(dir + "/missing", dir + "/g-dangling.key")
        try KeytoolFixture.write(good.bytes, to: dir + "/nested/h-good.key")
        return dir
    }

    @Test func eachFailureClassHasItsLineAndTheWorstDecidesTheExitCode() throws {
        let fixture = try KeytoolFixture()
        let dir = try mixedDirectory(fixture)

        let integrity = try keytool(["verify", dir, "--allow-weak-kdf"])
        let lines = integrity.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 8)
        #expect(lines.prefix(7).map { $0.split(separator: " ").first.map(String.init) ?? "" }
                == ["ok", "corrupted", "ok", "ok", "unsupported", "out-of-bounds", "unreadable"])
        #expect(lines.last?.contains("7 files: 3 ok, 1 corrupted, 1 out-of-bounds, 1 unsupported, 1 unreadable") == true)
        #expect(integrity.status == 10)

        let recursive = try keytool(["verify", "--recursive", dir] + fixture.credentialArguments + ["--jobs", "3"])
        #expect(recursive.status == 12)  // tampered outranks everything
        let statuses = recursive.stdout.split(separator: "\n").dropLast().map { String($0.split(separator: " ")[0]) }
        #expect(statuses == ["ok", "corrupted", "wrong-credentials", "tampered", "unsupported", "out-of-bounds", "unreadable", "ok"])
        #expect(recursive.stdout.split(separator: "\n").last?.contains("authenticated") == true)

        // Exit codes per class, one file at a time.
        let expected: [(String, Int32)] = [("a-good.key", 0), ("b-corrupted.key", 10), ("c-wrong-password.key", 11), ("d-tampered.key", 12),
                                           ("e-future.key", 13), ("f-ceiling.key", 14), ("g-dangling.key", 15)]
        for (name, code) in expected {
            #expect(try keytool(["verify", "\(dir)/\(name)"] + fixture.credentialArguments).status == code, "\(name)")
        }
        // Without --allow-weak-kdf a weak file is out of bounds even without a password.
        #expect(try keytool(["verify", "\(dir)/a-good.key"]).status == 14)
        #expect(try keytool(["verify", fixture.directory.file("empty-dir-missing")]).status == 15)
    }

    @Test func jsonIsOneValidDocumentInSortedOrder() throws {
        let fixture = try KeytoolFixture()
        let dir = try mixedDirectory(fixture)
        let run = try keytool(["verify", "-r", "--json", dir] + fixture.credentialArguments)
        #expect(run.status == 12)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(document["schemaVersion"] as? Int == 1)
        #expect(document["mode"] as? String == "authenticated")
        let results = try #require(document["results"] as? [[String: Any]])
        let paths = results.compactMap { $0["path"] as? String }
        #expect(paths == paths.sorted() && paths.count == 8)
        #expect(results[3]["code"] as? String == "tampered.payload")
        let summary = try #require(document["summary"] as? [String: Any])
        #expect(summary["exitCode"] as? Int == 12)
        #expect(summary["total"] as? Int == 8 && summary["passed"] as? Int == 2)
    }

    @Test func thousandsOfFilesVerifyWithoutPasswordInOrder() throws {
        let fixture = try KeytoolFixture()
        let dir = fixture.directory.file("backups")
        try FileManager.default.createDirectory(atPath: dir + "/2026", withIntermediateDirectories: true)
        let bytes = try KeytoolFixture.makeFile().bytes
        for index in 0..<2_000 {
            try KeytoolFixture.write(bytes, to: String(format: "%@/%@/backup-%04d.key", dir, index % 2 == 0 ? "2026" : ".", index))
        }
        let run = try keytool(["verify", "--recursive", "--allow-weak-kdf", dir])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.count == 2_001)
        #expect(lines.last?.hasPrefix("2000 files: 2000 ok") == true)
        let paths = lines.dropLast().map { String($0.split(separator: " ", omittingEmptySubsequences: true)[1]) }
        let inSortedOrder = paths == paths.sorted()  // outside #expect: it would capture 2,000 strings
        #expect(inSortedOrder)
        #expect(run.stderr.isEmpty)  // no progress bar when stderr is not a terminal
        // One damaged copy among them decides the exit status; --quiet prints only it.
        try KeytoolFixture.write(Array(bytes.dropLast(1)), to: dir + "/2026/backup-0100.key")
        let damaged = try keytool(["verify", "-r", "-q", "--allow-weak-kdf", "--jobs", "2", dir])
        #expect(damaged.status == 10)
        #expect(damaged.stdout.split(separator: "\n").count == 2)
        #expect(damaged.stdout.contains("backup-0100.key"))
    }
}
