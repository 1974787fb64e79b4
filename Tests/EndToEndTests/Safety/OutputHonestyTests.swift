import Foundation
import KeyFile
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Text output cannot be made to lie by the names and strings it quotes (issue 17, "Output that
/// cannot lie"): control, bidi and line-separator characters come out as visible escapes.
@Suite struct OutputHonestyTests {
    /// Whether `text` holds a character a terminal would act on (the set TerminalText escapes).
    func holdsUnsafeCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0 != "\n" && DisplayUnsafeScalars.contains($0) }
    }

    @Test func aFileNameCannotTurnACorruptedLineIntoAnOkLine() throws {
        let fixture = try KeytoolFixture()
        var damaged = try KeytoolFixture.makeFile().bytes
        damaged[60] ^= 4
        // Erase the line so far, return to column 0, print a fake "ok" line.
        let name = "x.key\u{1B}[2K\rok                good.key"
        let dir = fixture.directory.file("names")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try KeytoolFixture.write(damaged, to: "\(dir)/\(name)")
        let run = try keytool(["verify", dir, "--allow-weak-kdf"])
        #expect(run.status == 10)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        #expect(lines.first == "corrupted         \(dir)/x.key\\e[2K\\rok                good.key  (corrupted.checksum) the key file is corrupted: its whole-file SHA-256 checksum does not match; restore it from another backup")
        #expect(!holdsUnsafeCharacter(run.stdout))
        // --json is the exact form: the name as it is, escaped the JSON way.
        let json = try keytool(["verify", dir, "--allow-weak-kdf", "--json"])
        let document = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let results = try #require(document["results"] as? [[String: Any]])
        #expect(results.first?["path"] as? String == "\(dir)/\(name)")
    }

    @Test func errorMessagesEscapeTheNamesTheyQuote() throws {
        let fixture = try KeytoolFixture()
        let name = fixture.directory.file("gone\u{202E}yek.bin")
        let run = try keytool(["inspect", name])
        #expect(run.status == 15)
        #expect(run.stderr.hasPrefix("keytool: \(fixture.directory.path)/gone\\u{202E}yek.bin: "))
        #expect(!holdsUnsafeCharacter(run.stderr))
    }

    @Test func argumentErrorsAreOneEscapedLine() throws {
        // ArgumentParser quotes the offending argument (a file name from a glob, say).
        let extra = try keytool(["inspect", "a.key", "b\u{1B}[2J\u{202E}c.key"])
        #expect(extra.status == 64)
        #expect(extra.stderr == "keytool: Unexpected argument 'b\\e[2J\\u{202E}c.key'\n")
        let miisserver = try ToolRunner.run("miisserver", ["history", "--bogus\u{1B}[1A"])
        #expect(miisserver.status == 64)
        #expect(miisserver.stderr == "miisserver: unknown option '--bogus\\e[1A'\n")
    }

    @Test func aLineSeparatorInTheHeaderIsReportedNotPrinted() throws {
        // The source server "sync1" (5 bytes) becomes "s" U+2028 "1": a fake second line in
        // `inspect` for any viewer that honours U+2028. The checksum is recomputed, as a forger would.
        let fixture = try KeytoolFixture()
        var bytes = try KeytoolFixture.makeFile().bytes
        let offset = try #require(KeytoolFixture.fieldValueOffset(bytes, number: 3))
        #expect(Array(bytes[offset..<offset + 5]) == Array("sync1".utf8))
        bytes.replaceSubrange(offset..<offset + 5, with: Array("s\u{2028}1".utf8))
        try KeytoolFixture.fixChecksum(&bytes)
        let path = fixture.directory.file("forged.key")
        try KeytoolFixture.write(bytes, to: path)
        let message = "the key file is malformed: the sourceServer contains U+2028 (a line or paragraph separator), which could falsify printed output"
        let inspect = try keytool(["inspect", path])
        #expect(inspect.status == 10)
        #expect(inspect.stdout.isEmpty)
        #expect(inspect.stderr == "keytool: \(message)\n")
        let verify = try keytool(["verify", path, "--allow-weak-kdf"])
        #expect(verify.status == 10)
        #expect(verify.stdout.hasPrefix("corrupted         \(path)  (corrupted.structure) \(message)\n"))
    }

    @Test func miisserverHistoryAndMiisactivateEscapeTheReason() throws {
        let deployment = try DeploymentFixture()
        #expect(try deployment.miisserver("sync1", ["heartbeat"]).status == 0)
        let reason = "disk lost\u{1B}[2K\r2026-01-01T00:00:00Z  activated  sync1\u{2028}ok"
        // The key file's name reaches the --verbose log lines (swift-log), escaped there too.
        let keyFile = deployment.root.file("keys\u{1B}]0;owned\u{7}.bin")
        try FileManager.default.copyItem(atPath: deployment.backup, toPath: keyFile)
        let forced = try deployment.activate("sync2", keyFile: keyFile, extra: ["--force", "--reason", reason, "--verbose"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stderr.contains("keys\\e]0;owned\\u{7}.bin"), "\(forced.stderr)")
        let escaped = "disk lost\\e[2K\\r2026-01-01T00:00:00Z  activated  sync1\\u{2028}ok"
        #expect(forced.stdout.contains("  forced            \(escaped)\n"), "\(forced.stdout)")
        #expect(!holdsUnsafeCharacter(forced.stdout + forced.stderr))
        let history = try deployment.miisserver("sync2", ["history"])
        #expect(history.status == 0)
        #expect(history.stdout.contains(escaped), "\(history.stdout)")
        #expect(!holdsUnsafeCharacter(history.stdout))
        // The log itself keeps the reason exactly; JSON shows it exactly.
        #expect(try deployment.history(from: "sync2").contains { ($0["detail"] as? String)?.contains(reason) == true })
    }
}

/// `keytool verify --account` holds its KDF memory budget across workers (issue 17, "Bounded
/// cost of hostile inputs across a whole run").
@Suite struct KDFMemoryBudgetEndToEndTests {
    /// Runs `executable` under a small Python parent that reports wait4's ru_maxrss of that child
    /// alone: spawned from this (large) test process, the child's high-water mark would start at
    /// the test process's own RSS, which Linux carries across exec.
    func runMeasuringPeakRSS(_ executable: String, _ arguments: [String]) throws -> (status: Int32, peakKiB: Int) {
        let script = """
            import os, subprocess, sys
            child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(child.pid, 0)
            print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
            """
        let run = try ToolRunner.run("/usr/bin/python3", ["-c", script, executable] + arguments)
        let fields = run.stdout.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        guard run.status == 0, fields.count == 2, let status = fields[0], let peak = fields[1] else {
            throw FixtureError(description: "cannot measure \(executable): \(run.stderr)")
        }
        return (Int32(status), peak)
    }

    @Test func fourHighMemoryFilesOnFourWorkersStayWithinTheBudget() throws {
        let fixture = try KeytoolFixture()
        let dir = fixture.directory.file("heavy")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // In-bounds files of 64 MiB scrypt each (logN 16, r 8): 256 MiB at once on four workers
        // without a run-wide budget.
        let heavy = KDFParameters.scrypt(logN: 16, r: 8, p: 1)
        let keySet = try KeySet.generate(count: 1)
        for index in 0..<4 {
            try KeytoolFixture.write(try KeytoolFixture.makeFile(kdf: heavy, keySet: keySet).bytes, to: "\(dir)/\(index).key")
        }
        let light = fixture.directory.file("light.key")
        try KeytoolFixture.write(try KeytoolFixture.makeFile().bytes, to: light)
        let keytool = ToolRunner.path(of: "keytool")
        let baseline = try runMeasuringPeakRSS(keytool, ["verify", light] + fixture.credentialArguments)
        #expect(baseline.status == 0)

        let budgetMiB = 80  // one 64 MiB derivation fits, two do not
        let run = try runMeasuringPeakRSS(keytool, ["verify", dir, "-j", "4", "--kdf-memory-budget", "\(budgetMiB)MiB"] + fixture.credentialArguments)
        #expect(run.status == 0)
        #expect(run.peakKiB < baseline.peakKiB + budgetMiB * 1024, "peak \(run.peakKiB) KiB, baseline \(baseline.peakKiB) KiB")
        // The derivations really ran at their size (the measurement measures something).
        #expect(run.peakKiB > baseline.peakKiB + 48 * 1024, "peak \(run.peakKiB) KiB, baseline \(baseline.peakKiB) KiB")

        // A file whose KDF alone exceeds the budget is refused before deriving, with exit 14.
        let small = try ToolRunner.run(keytool, ["verify", "\(dir)/0.key", "--kdf-memory-budget", "32MiB"] + fixture.credentialArguments)
        #expect(small.status == 14)
        #expect(small.stdout.contains("out-of-bounds     \(dir)/0.key  (parametersOutOfBounds.budget) the KDF needs 64 MiB, more than the whole KDF memory budget of 32 MiB; refused before deriving (raise the budget)"), "\(small.stdout)")
        let bad = try ToolRunner.run(keytool, ["verify", dir, "--kdf-memory-budget", "lots"] + fixture.credentialArguments)
        #expect(bad.status == 64)
    }
}
