import Foundation
import Testing

/// packaging/systemd: the units pass `systemd-analyze verify`, and the heartbeat unit's
/// fencing rule holds when its commands are run as systemd runs them.
@Suite(.serialized) struct SystemdUnitTests {
    static let unitDirectory = InstallTests.repository.appendingPathComponent("packaging/systemd")
    static let units = ["miis-sync.service", "miis-heartbeat.service", "miis-heartbeat.timer"]

    /// The value of every `key=` line of `unit` (no continuation lines in our units).
    static func values(_ key: String, in unit: String) throws -> [String] {
        let text = try String(contentsOf: unitDirectory.appendingPathComponent(unit), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            line.hasPrefix(key + "=") ? String(line.dropFirst(key.count + 1)) : nil
        }
    }

    /// A command line as systemd hands it over: `$$` is a literal `$`, and `/opt/miis` is moved
    /// to `install`. The quoting of our lines is the shell's subset, so `sh -c` splits them alike.
    static func commandLine(_ value: String, install: String) -> String {
        value.replacingOccurrences(of: "$$", with: "$").replacingOccurrences(of: "/opt/miis", with: install)
    }

    /// `systemd-analyze verify` works without a running systemd (this container has none as PID 1):
    /// it loads the units into a test-mode manager. `--man=no` skips looking up the man pages of
    /// `Documentation=` (none installed here), and `SYSTEMD_LOG_LEVEL=warning` keeps its own
    /// informational lines out of the output, so any output is a finding. It checks that every
    /// Exec command exists and is executable, so the units are copied with /opt/miis moved to an
    /// installation holding the built miisserver (and a stand-in for the example service binary).
    @Test func unitsPassSystemdAnalyzeVerify() throws {
        let analyze = "/usr/bin/systemd-analyze"
        guard FileManager.default.isExecutableFile(atPath: analyze) else {
            Issue.record("systemd-analyze is missing: scripts/install-deps.sh installs the systemd package")
            return
        }
        let root = try TemporaryDirectory("miis-units")
        let install = root.file("opt-miis")
        try LocateInstallationTests.installTools(into: install)
        let service = install + "/Bin/miis-sync-service"
        try "#!/bin/sh\nexec sleep infinity\n".write(toFile: service, atomically: true, encoding: .utf8)
        #expect(chmod(service, 0o755) == 0)
        let copies = root.file("units")
        try FileManager.default.createDirectory(atPath: copies, withIntermediateDirectories: true)
        for unit in Self.units {
            let text = try String(contentsOf: Self.unitDirectory.appendingPathComponent(unit), encoding: .utf8)
            try text.replacingOccurrences(of: "/opt/miis", with: install).write(toFile: copies + "/" + unit, atomically: true, encoding: .utf8)
        }
        let result = try ToolRunner.run(analyze, ["verify", "--man=no"] + Self.units.map { copies + "/" + $0 },
                                        environment: ["SYSTEMD_LOG_LEVEL": "warning"], currentDirectory: copies)
        #expect(result.status == 0, "\(result.allOutput)")
        #expect(result.allOutput.isEmpty, "systemd-analyze verify: \(result.allOutput)")
    }

    /// Both services get the PostgreSQL password the way libpq looks for it: a credential named by PGPASSFILE.
    @Test func servicesNameTheirPasswordFile() throws {
        for unit in ["miis-sync.service", "miis-heartbeat.service"] {
            #expect(try Self.values("LoadCredential", in: unit) == ["pgpass:/etc/miis/pgpass"], "\(unit)")
            #expect(try Self.values("Environment", in: unit).contains("PGPASSFILE=%d/pgpass"), "\(unit)")
        }
    }

    /// Runs the heartbeat unit's ExecStopPost= with the environment systemd gives it after
    /// ExecStart= ended with (`code`, `status`), and a `systemctl` on PATH that records its arguments.
    static func stopPost(code: String, status: String, install: String) throws -> (calls: String, result: ToolRunner.Result) {
        let root = try TemporaryDirectory("miis-stoppost")
        let calls = root.file("calls")
        let fake = root.file("systemctl")
        try "#!/bin/sh\necho \"$*\" >> '\(calls)'\n".write(toFile: fake, atomically: true, encoding: .utf8)
        #expect(chmod(fake, 0o755) == 0)
        let stopPost = try #require(try values("ExecStopPost", in: "miis-heartbeat.service").first)
        let result = try ToolRunner.run("/bin/sh", ["-c", commandLine(stopPost, install: install)],
                                        environment: ["PATH": root.path + ":/usr/bin:/bin", "EXIT_CODE": code, "EXIT_STATUS": status,
                                                      "SERVICE_RESULT": status == "0" ? "success" : "exit-code"])
        #expect(result.status == 0, "\(result.stderr)")
        return ((try? String(contentsOfFile: calls, encoding: .utf8)) ?? "", result)
    }

    /// The unit's own ExecStart= on a fenced old primary exits 28, and its ExecStopPost= then stops
    /// the service and the timer; a database error (29), success or a killed heartbeat stop nothing.
    @Test func fencedHeartbeatStopsTheServiceOthersDoNot() throws {
        let deployment = try DeploymentFixture()
        let install = deployment.installDirectory("sync1")
        try LocateInstallationTests.installTools(into: install)
        let takeover = try deployment.activate("sync2", extra: ["--force", "--reason", "systemd unit test"])
        #expect(takeover.status == 0, "\(takeover.stderr)")

        let start = try #require(try Self.values("ExecStart", in: "miis-heartbeat.service").first)
        let heartbeat = try ToolRunner.run("/bin/sh", ["-c", Self.commandLine(start, install: install)], currentDirectory: "/")
        #expect(heartbeat.status == 28, "\(heartbeat.stderr)")

        let fenced = try Self.stopPost(code: "exited", status: String(heartbeat.status), install: install)
        #expect(fenced.calls == "--no-block stop miis-sync.service miis-heartbeat.timer\n")
        #expect(fenced.result.stderr.contains("fenced"))

        for (code, status) in [("exited", "29"), ("exited", "0"), ("exited", "1"), ("killed", "TERM"), ("dumped", "ABRT")] {
            let other = try Self.stopPost(code: code, status: status, install: install)
            #expect(other.calls.isEmpty, "\(code) \(status): \(other.calls)")
        }
    }
}
