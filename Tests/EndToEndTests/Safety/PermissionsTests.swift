import Deployment
import Foundation
import KeyFile
import Testing

/// Modes of what the tools write (even under `umask 000`), the refusals and warnings of
/// `miisactivate` for loose installations, and `keytool audit`'s permission findings.
@Suite("Permissions and hygiene")
struct PermissionsTests {
    static let weak = ["--allow-weak-kdf", "--scrypt-log-n", "10"]

    /// Runs a tool under `umask 000`, so only the tool's own fchmod/chmod decide the modes.
    @discardableResult
    static func runUnderOpenUmask(_ tool: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> ToolRunner.Result {
        try ToolRunner.run("/bin/sh", ["-c", "umask 000; exec \"$0\" \"$@\"", ToolRunner.path(of: tool)] + arguments,
                           stdin: stdin, environment: environment)
    }

    @Test func keyFilesAre0600AndTemporaryFilesToo() throws {
        let deployment = try DeploymentFixture()
        let root = deployment.root
        let credentials = ["--account", DeploymentFixture.account, "--password-file", deployment.passwordFile]
        let created = root.file("created.key")
        #expect(try Self.runUnderOpenUmask("keytool", ["create", "-o", created] + credentials + Self.weak).status == 0)
        #expect(CrashHarness.mode(of: created) == 0o600)
        #expect(try Self.runUnderOpenUmask("keytool", ["passwd", created, "--new-password-file", deployment.passwordFile] + credentials + Self.weak).status == 0)
        #expect(CrashHarness.mode(of: created) == 0o600)
        let backup = root.file("backup-umask.bin")
        #expect(try Self.runUnderOpenUmask("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"), "-o", backup,
                                                       "--password-file", deployment.passwordFile] + Self.weak).status == 0)
        #expect(CrashHarness.mode(of: backup) == 0o600)
        #expect(CrashHarness.mode(of: deployment.backup) == 0o600)
        #expect(CrashHarness.mode(of: deployment.installDirectory("sync1") + "/keys/keyset.bin") == 0o600)
        #expect(CrashHarness.mode(of: deployment.installDirectory("sync1") + "/keys") == 0o700)
        #expect(CrashHarness.mode(of: deployment.installDirectory("sync1") + "/keys/activation.json") == 0o600)

        // A setup under umask 000 too.
        let sandbox = try DeploymentSandbox()
        let setup = try Self.runUnderOpenUmask("miisserver", ["setup", "--install-dir", sandbox.install("alpha"), "--name", "alpha",
                                                               "--database", sandbox.database, "--role", "primary", "--account", "CORP\\svc",
                                                               "--password-file", sandbox.passwordFile] + Self.weak)
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(CrashHarness.mode(of: sandbox.install("alpha") + "/keys/keyset.bin") == 0o600)
        #expect(CrashHarness.mode(of: sandbox.install("alpha") + "/keys") == 0o700)
        #expect(CrashHarness.mode(of: sandbox.install("alpha") + "/server.json") == 0o644)

        // Temporary files: killed just before the rename, the leftover is already 0600, in the
        // destination directory (SecureFile for backup and activation, VerifiedKeyFileWriter for create).
        let backups = root.file("tmpcheck")
        try FileManager.default.createDirectory(atPath: backups, withIntermediateDirectories: true)
        let killedBackup = try Self.runUnderOpenUmask("miisserver", ["backup", "--install-dir", deployment.installDirectory("sync1"),
                                                                  "-o", backups + "/b.bin", "--password-file", deployment.passwordFile] + Self.weak,
                                                      environment: ["MIIS_FAULT_POINT": "atomic-write.before-rename"])
        #expect(killedBackup.status == SIGKILL)
        let killedCreate = try Self.runUnderOpenUmask("keytool", ["create", "-o", backups + "/c.key"] + credentials + Self.weak,
                                                      environment: ["MIIS_FAULT_POINT": "verified-write.before-commit"])
        #expect(killedCreate.status == SIGKILL)
        let leftovers = CrashHarness.strayTemporaries(in: backups)
        #expect(leftovers.count == 2, "\(leftovers)")
        #expect(!FileManager.default.fileExists(atPath: backups + "/b.bin"))
        for name in leftovers {
            #expect(CrashHarness.mode(of: backups + "/" + name) == 0o600, "\(name)")
            #expect(name.hasPrefix(".b.bin.tmp-") || name.hasPrefix(".c.key.tmp-"))
        }
        let killedActivation = try ToolRunner.run("/bin/sh", ["-c", "umask 000; exec \"$0\" \"$@\"", ToolRunner.path(of: "miisactivate"),
                                                              deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf",
                                                              "--install-dir", deployment.installDirectory("sync2")],
                                                  stdin: DeploymentFixture.password + "\n", environment: ["MIIS_FAULT_POINT": "atomic-write.before-rename"])
        #expect(killedActivation.status == SIGKILL)
        let keyLeftovers = CrashHarness.strayTemporaries(in: deployment.installDirectory("sync2") + "/keys")
        #expect(keyLeftovers.count == 1)
        for name in keyLeftovers { #expect(CrashHarness.mode(of: deployment.installDirectory("sync2") + "/keys/" + name) == 0o600) }
        // The leftover changes nothing: activation then succeeds and installs a 0600 key file.
        #expect(try deployment.activate("sync2").status == 0)
        #expect(CrashHarness.mode(of: deployment.installDirectory("sync2") + "/keys/keyset.bin") == 0o600)
        #expect(try deployment.miisserver("sync2", ["check"]).status == 0)
    }

    /// The installation directory, keys/ and server.json writable by group or others: exit 31,
    /// nothing changed. Readable keys/ and installed key file: a warning, then activation.
    @Test func looseInstallationIsRefusedReadableWarns() throws {
        let deployment = try DeploymentFixture()
        let install = deployment.installDirectory("sync2")
        let cases: [(String, mode_t, mode_t)] = [
            (install, 0o775, 0o755), (install, 0o757, 0o755),
            (install + "/keys", 0o770, 0o700), (install + "/keys", 0o703, 0o700),
            (install + "/server.json", 0o664, 0o644), (install + "/server.json", 0o646, 0o644),
        ]
        for (path, loose, fixed) in cases {
            chmod(path, loose)
            let refused = try deployment.activate("sync2")
            #expect(refused.status == 31, "\(path) \(String(loose, radix: 8)): \(refused.stderr)")
            #expect(refused.stderr.contains("writable by group or others"))
            #expect(refused.stderr.contains(path))
            chmod(path, fixed)
        }
        #expect(try deployment.deploymentState().epoch == 1)
        // Readable keys/ warns; so does a readable installed key set (checked at the next run).
        chmod(install + "/keys", 0o750)
        let warned = try deployment.activate("sync2", extra: ["--json"])
        #expect(warned.status == 0, "\(warned.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(warned.stdout.utf8)) as? [String: Any])
        let warnings = report["warnings"] as? [String] ?? []
        #expect(warnings.contains { $0.contains("accessible by group or others") }, "\(warnings)")
        #expect(try deployment.deploymentState().epoch == 2)
    }

    /// Each tool hardens itself (`ProcessHardening.apply()`) before it reads a secret: while it
    /// waits for the password or secret value on standard input, /proc/PID/limits already shows a
    /// zero core-file size, and, run as `nobody`, its /proc/PID files belong to root: the kernel's
    /// sign of a non-dumpable process. `/bin/sleep` started the same way is the control.
    @Test func toolsHardenThemselvesBeforeReadingSecrets() throws {
        let deployment = try DeploymentFixture()
        let scratch = try TemporaryDirectory("miis-hardening")
        chmod(scratch.path, 0o777)
        chmod(deployment.root.path, 0o755)
        struct Observation { var core: String?; var statusOwner: uid_t?; var uid: String? }
        /// Starts `executable` (as `nobody` when `asNobody`) with a soft core limit of 4096 blocks and
        /// stdin left open, waits until it runs as `name`, and reads its limits and /proc ownership.
        func observe(_ executable: String, _ arguments: [String], name: String, asNobody: Bool, settled: (Observation) -> Bool) throws -> Observation {
            let process = Process()
            let wrapper = ["/bin/sh", "-c", "ulimit -S -c 4096 && exec \"$0\" \"$@\"", executable] + arguments
            if asNobody {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
                process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups"] + wrapper
            } else {
                process.executableURL = URL(fileURLWithPath: wrapper[0])
                process.arguments = Array(wrapper.dropFirst())
            }
            let input = Pipe()
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            let proc = "/proc/\(process.processIdentifier)"
            var observation = Observation()
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline {
                let comm = (try? String(contentsOfFile: proc + "/comm", encoding: .utf8)) ?? ""
                if comm.trimmingCharacters(in: .whitespacesAndNewlines) == name {
                    let limits = (try? String(contentsOfFile: proc + "/limits", encoding: .utf8)) ?? ""
                    if let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max core file size") }) {
                        observation.core = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first.map(String.init)
                    }
                    let status = (try? String(contentsOfFile: proc + "/status", encoding: .utf8)) ?? ""
                    observation.uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?
                        .split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.map(String.init)
                    var info = stat()
                    if stat(proc + "/status", &info) == 0 { observation.statusOwner = info.st_uid }
                    if settled(observation) { break }
                }
                usleep(2000)
            }
            return observation
        }
        let hardened: (Observation) -> Bool = { $0.core == "0" && ($0.uid != "65534" || $0.statusOwner == 0) }
        // Controls: a plain program keeps the limit and stays dumpable (its files are nobody's).
        let control = try observe("/bin/sleep", ["5"], name: "sleep", asNobody: true) { $0.core != nil && $0.statusOwner != nil }
        #expect(control.core != nil && control.core != "0", "control core limit: \(control.core ?? "unknown")")
        #expect(control.uid == "65534" && control.statusOwner == 65534, "control: \(control)")
        // As nobody: keytool waits for --password-stdin, miisserver for the secret value.
        let asNobody: [(String, [String])] = [
            ("keytool", ["create", "-o", scratch.file("k.key"), "--account", "svc", "--password-stdin"] + Self.weak),
            ("miisserver", ["secret", "set", "x", "--install-dir", deployment.installDirectory("sync1"), "--password-file", "/nonexistent"]),
        ]
        for (tool, arguments) in asNobody {
            let seen = try observe(ToolRunner.path(of: tool), arguments, name: tool, asNobody: true, settled: hardened)
            #expect(seen.core == "0", "\(tool): core limit \(seen.core ?? "unknown")")
            #expect(seen.uid == "65534" && seen.statusOwner == 0, "\(tool) is not marked non-dumpable: \(seen)")
        }
        // miisactivate refuses non-root users at once, so as root: the core limit only.
        let activate = try observe(ToolRunner.path(of: "miisactivate"),
                                   [deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf", "--install-dir", deployment.installDirectory("sync2")],
                                   name: "miisactivate", asNobody: false, settled: hardened)
        #expect(activate.core == "0", "miisactivate: core limit \(activate.core ?? "unknown")")
    }

    /// `keytool audit` reports group/world-readable and -writable files and a writable directory.
    @Test func auditReportsLoosePermissions() throws {
        let root = try TemporaryDirectory("miis-audit-perm")
        let passwordFile = root.file("pw")
        try "audit-pw\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let directory = root.file("keys")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o700)
        let file = directory + "/k.key"
        #expect(try ToolRunner.run("keytool", ["create", "-o", file, "--account", "svc", "--password-file", passwordFile] + Self.weak).status == 0)
        func findings() throws -> [String] {
            let result = try ToolRunner.run("keytool", ["audit", file, "--json"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let files = report["files"] as? [[String: Any]] ?? []
            return (files.first?["findings"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        }
        #expect(try !findings().contains { $0.hasPrefix("permissions.") })
        let expectations: [(mode_t, [String])] = [
            (0o620, ["permissions.group-writable"]), (0o640, ["permissions.group-readable"]),
            (0o602, ["permissions.world-writable"]), (0o604, ["permissions.world-readable"]),
            (0o666, ["permissions.group-readable", "permissions.group-writable", "permissions.world-readable", "permissions.world-writable"]),
        ]
        for (mode, expected) in expectations {
            chmod(file, mode)
            let ids = try findings()
            for id in expected { #expect(ids.contains(id), "mode \(String(mode, radix: 8)): \(ids)") }
        }
        chmod(file, 0o600)
        chmod(directory, 0o777)
        #expect(try findings().contains("permissions.directory-writable"))
        chmod(directory, 0o700)
        // (--fail-on with these findings is covered in KeytoolCommandTests: this file's weak KDF is itself a high finding.)
    }

    // MARK: - The installation cannot be subverted by its own files

    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
    }

    static func owner(_ path: String) -> uid_t? {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_uid : nil
    }

    /// Under umask 000, `miisserver setup` makes the installation directory and Bin/ 0755 (root's),
    /// keys/ 0700; `scripts/install.sh` also tightens a prefix that already exists world-writable
    /// with a Bin/ someone else owns: root-owned 0755 both.
    @Test func openUmaskSetupAndInstallMakeRootOwned0755Directories() throws {
        let sandbox = try DeploymentSandbox()
        let install = sandbox.install("alpha")
        let setup = try Self.runUnderOpenUmask("miisserver", ["setup", "--install-dir", install, "--name", "alpha",
                                                               "--database", sandbox.database, "--role", "primary", "--account", "CORP\\svc",
                                                               "--password-file", sandbox.passwordFile] + Self.weak)
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(Self.mode(install) == 0o755)
        #expect(Self.mode(install + "/Bin") == 0o755)
        #expect(Self.mode(install + "/keys") == 0o700)
        #expect(Self.owner(install) == 0 && Self.owner(install + "/Bin") == 0)

        let prefix = try TemporaryDirectory("miis-prefix-umask")
        try FileManager.default.createDirectory(atPath: prefix.file("Bin"), withIntermediateDirectories: true)
        chmod(prefix.path, 0o777)
        chmod(prefix.file("Bin"), 0o777)
        #expect(chown(prefix.file("Bin"), 65534, 65534) == 0)
        let script = InstallTests.repository.appendingPathComponent("scripts/install.sh").path
        let installed = try ToolRunner.run("/bin/sh", ["-c", "umask 000; exec /bin/bash \"$0\" \"$@\"", script, prefix.path,
                                                       ToolRunner.productsDirectory.path])
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(Self.mode(prefix.path) == 0o755)
        #expect(Self.mode(prefix.file("Bin")) == 0o755)
        #expect(Self.owner(prefix.path) == 0 && Self.owner(prefix.file("Bin")) == 0)
        #expect(Self.mode(prefix.file("Bin/miisactivate")) == 0o755)
    }

    /// keys/ replaced by a symbolic link: miisactivate and miisserver refuse with exit 31 and write
    /// nothing in (nor chmod) the link's target.
    @Test func symlinkedKeysDirectoryIsRefused() throws {
        let deployment = try DeploymentFixture()
        let standbyKeys = deployment.installDirectory("sync2") + "/keys"
        let decoy = deployment.root.file("decoy")
        try FileManager.default.createDirectory(atPath: decoy, withIntermediateDirectories: false)
        chmod(decoy, 0o755)
        try FileManager.default.removeItem(atPath: standbyKeys)
        try FileManager.default.createSymbolicLink(atPath: standbyKeys, withDestinationPath: decoy)
        let refused = try deployment.activate("sync2")
        #expect(refused.status == 31, "\(refused.stderr)")
        #expect(refused.stderr == "miisactivate: \(standbyKeys) is a symbolic link: refusing to follow it; it must be a real directory\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: decoy).isEmpty)
        #expect(Self.mode(decoy) == 0o755)
        #expect(try deployment.deploymentState().epoch == 1)

        // The primary's keys/ moved away and linked back: repair must not re-seal into the target.
        let primaryKeys = deployment.installDirectory("sync1") + "/keys"
        let moved = deployment.root.file("moved-keys")
        try FileManager.default.moveItem(atPath: primaryKeys, toPath: moved)
        try FileManager.default.createSymbolicLink(atPath: primaryKeys, withDestinationPath: moved)
        let before = try Data(contentsOf: URL(fileURLWithPath: moved + "/keyset.bin"))
        let repair = try deployment.miisserver("sync1", ["repair", "--account", "CORP\\other",
                                                         "--password-file", deployment.passwordFile,
                                                         "--new-password-file", deployment.passwordFile] + Self.weak)
        #expect(repair.status == 31, "\(repair.stderr)")
        #expect(repair.stderr.contains("miisserver: \(primaryKeys) is a symbolic link: refusing to follow it"), "\(repair.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: moved + "/keyset.bin")) == before)
        #expect(try Set(FileManager.default.contentsOfDirectory(atPath: moved)) == ["keyset.bin", "activation.json"])
    }

    /// An installation owned by another user is refused: miisactivate (31, nothing changed) and a
    /// setup into a directory that user prepared.
    @Test func installationOwnedByAnotherUserIsRefused() throws {
        let deployment = try DeploymentFixture()
        let install = deployment.installDirectory("sync2")
        #expect(chown(install, 65534, 65534) == 0)
        let refused = try deployment.activate("sync2")
        #expect(refused.status == 31, "\(refused.stderr)")
        #expect(refused.stderr == "miisactivate: \(install) is owned by nobody (uid 65534), not by root: its owner could replace the installation's files; fix it with chown root \(install)\n")
        #expect(!FileManager.default.fileExists(atPath: install + "/keys/keyset.bin"))
        #expect(try deployment.deploymentState().epoch == 1)

        let prepared = deployment.root.file("prepared")
        try FileManager.default.createDirectory(atPath: prepared, withIntermediateDirectories: false)
        #expect(chown(prepared, 65534, 65534) == 0)
        let setup = try ToolRunner.run("miisserver", ["setup", "--install-dir", prepared, "--name", "sync3", "--database", deployment.database,
                                                      "--role", "standby", "--account", DeploymentFixture.account, "--admin-group", "root"])
        #expect(setup.status == 31, "\(setup.stderr)")
        #expect(setup.stderr.contains("\(prepared) is owned by nobody (uid 65534), not by root"), "\(setup.stderr)")
        #expect(!FileManager.default.fileExists(atPath: prepared + "/server.json"))
    }

    /// `keytool audit` reports a key file owned by another user (text and JSON, severity high).
    @Test func auditReportsAKeyFileOwnedByAnotherUser() throws {
        let root = try TemporaryDirectory("miis-audit-owner")
        let passwordFile = root.file("pw")
        try "audit-pw\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let file = root.file("k.key")
        #expect(try ToolRunner.run("keytool", ["create", "-o", file, "--account", "svc", "--password-file", passwordFile] + Self.weak).status == 0)
        func finding() throws -> [String: Any]? {
            let result = try ToolRunner.run("keytool", ["audit", file, "--json"])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let findings = (report["files"] as? [[String: Any]])?.first?["findings"] as? [[String: Any]] ?? []
            return findings.first { $0["id"] as? String == "ownership.other-user" }
        }
        #expect(try finding() == nil)
        #expect(chown(file, 65534, 65534) == 0)
        let found = try #require(try finding())
        #expect(found["severity"] as? String == "high")
        #expect(found["message"] as? String == "the file is owned by nobody (uid 65534), neither root nor you: its owner can rewrite it or loosen its mode; chown it")
        let text = try ToolRunner.run("keytool", ["audit", file])
        #expect(text.stdout.contains("ownership.other-user"), "\(text.stdout)")
        #expect(text.stdout.contains("the file is owned by nobody (uid 65534)"))
    }
}
