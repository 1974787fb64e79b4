import Foundation
import Testing

/// What the package's maintainer scripts ask of systemd, run as dpkg runs them (`prerm remove`,
/// `prerm upgrade VERSION`, …) against a recording `systemctl` (deb-systemd-invoke, the real
/// one, calls it), in a private mount namespace
/// whose /run says systemd is running and whose /usr/sbin holds only the policy-rc.d the test
/// chose (nothing of the machine's own systemd or policy is touched).
@Suite("Debian maintainer scripts")
struct MaintainerScriptTests {
    static let stopUnits = "stop miis-heartbeat.timer miis-heartbeat.service miis-sync.service"
    static let reload = "--system daemon-reload"

    /// A private mount namespace needs root: skipped with a note without it, a failure in CI.
    static func runningAsRoot() -> Bool {
        guard geteuid() != 0 else { return true }
        if !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty {
            Issue.record("the maintainer-script tests need root (a private mount namespace)")
        } else {
            print("SKIPPED: maintainer-script tests: not running as root")
        }
        return false
    }

    /// The systemctl calls `script` made with `arguments`, one per line. `policy`: the exit status
    /// of a /usr/sbin/policy-rc.d (101: actions forbidden, as in containers), or none.
    static func systemctlCalls(_ script: String, _ arguments: [String], policy: Int? = nil,
                               environment: [String: String] = [:]) throws -> [String] {
        let scratch = try TemporaryDirectory("miis-maintainer")
        let log = scratch.file("systemctl.log")
        try FileManager.default.createDirectory(atPath: scratch.file("bin"), withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"$*\" >> \"$SYSTEMCTL_LOG\"\n".write(toFile: scratch.file("bin/systemctl"), atomically: true, encoding: .utf8)
        chmod(scratch.file("bin/systemctl"), 0o755)
        let path = ToolRunner.repository.appendingPathComponent("packaging/debian/\(script)").path
        var shell = "mount --make-rprivate / && mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && mount -t tmpfs tmpfs /usr/sbin"
        if let policy { shell += " && printf '#!/bin/sh\\nexit \(policy)\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d" }
        shell += " && exec sh \"$@\""
        let result = try ToolRunner.run("/usr/bin/unshare", ["--mount", "/bin/sh", "-c", shell, "sh", path] + arguments,
                                        environment: ["PATH": scratch.file("bin") + ":/usr/sbin:/usr/bin:/sbin:/bin",
                                                      "SYSTEMCTL_LOG": log].merging(environment) { $1 })
        #expect(result.status == 0, "\(script) \(arguments): \(result.stderr)")
        let calls = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return calls.split(separator: "\n").map(String.init)
    }

    @Test func removalStopsTheUnitsAnUpgradeDoesNot() throws {
        guard Self.runningAsRoot() else { return }
        #expect(try Self.systemctlCalls("prerm", ["remove"]) == [Self.stopUnits])
        #expect(try Self.systemctlCalls("prerm", ["upgrade", "1.3.0"]).isEmpty)
        #expect(try Self.systemctlCalls("prerm", ["failed-upgrade", "1.3.0"]).isEmpty)
        // A policy-rc.d is obeyed: allowed (0) the units stop, forbidden (101) they do not.
        #expect(try Self.systemctlCalls("prerm", ["remove"], policy: 0) == [Self.stopUnits])
        #expect(try Self.systemctlCalls("prerm", ["remove"], policy: 101).isEmpty)
        // Into another root (dpkg --root with DPKG_ROOT), the host's systemd is not the target's.
        #expect(try Self.systemctlCalls("prerm", ["remove"], environment: ["DPKG_ROOT": "/srv/target"]).isEmpty)
    }

    @Test func installAndRemovalReloadSystemdAndEnableNothing() throws {
        guard Self.runningAsRoot() else { return }
        #expect(try Self.systemctlCalls("postinst", ["configure", ""]) == [Self.reload])
        #expect(try Self.systemctlCalls("postinst", ["configure", "1.3.0"]) == [Self.reload])
        #expect(try Self.systemctlCalls("postrm", ["remove"]) == [Self.reload])
        #expect(try Self.systemctlCalls("postrm", ["purge"]) == [Self.reload])
    }
}
