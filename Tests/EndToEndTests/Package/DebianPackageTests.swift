import Foundation
import Testing

/// `make deb` (scripts/make-deb.sh) on the release binaries: the package's contents and metadata,
/// lintian, and the package installed with dpkg into a throwaway root, where the installed tools
/// run (also by name, through the /usr/bin links), the demo passes on them, and an upgrade,
/// a removal and a purge leave a server's state alone.
@Suite(.serialized, ReleaseProducts.condition)
struct DebianPackageTests {
    static let packageName = "miis-keyfile-toolkit"
    static let script = ToolRunner.repository.appendingPathComponent("scripts/make-deb.sh").path
    /// The key file's 12 magic bytes (docs/key-file-format.md, 2.1): no key file is ever shipped.
    static let keyFileMagic = Data([0x89, 0x4D, 0x49, 0x49, 0x53, 0x4B, 0x45, 0x59, 0x0D, 0x0A, 0x1A, 0x0A])

    /// The package, built once for the suite. gzip instead of `make deb`'s xz: the same files and
    /// control data, several times faster to compress (xz takes a minute for the binaries).
    nonisolated(unsafe) static var builtPackage: Result<(directory: TemporaryDirectory, path: String), any Error>?

    static func package() throws -> String {
        if builtPackage == nil {
            builtPackage = Result {
                let output = try TemporaryDirectory("miis-deb")
                return (output, try build(into: output.path, extra: ["--compression", "gzip"]))
            }
        }
        return try builtPackage?.get().path ?? ""
    }

    static func build(into output: String, extra: [String] = []) throws -> String {
        let result = try ToolRunner.run("/bin/bash", [script, "--products", ReleaseProducts.directory.path, "--output", output] + extra,
                                        timeout: 600)
        try #require(result.status == 0, "make-deb.sh failed: \(result.stderr)")
        let path = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(FileManager.default.fileExists(atPath: path), "no package at \(path)")
        return path
    }

    static func field(_ name: String, of package: String) throws -> String {
        let result = try ToolRunner.run("/usr/bin/dpkg-deb", ["--field", package, name])
        try #require(result.status == 0, "\(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The package names of a Depends line (`a (>= 1), b | c` gives a, b, c).
    static func dependencyNames(_ depends: String) -> [String] {
        depends.split(whereSeparator: { $0 == "," || $0 == "|" }).compactMap {
            $0.split(separator: " ").first.map(String.init)
        }
    }

    @Test func contentsAndMetadata() throws {
        guard ReleaseProducts.check() else { return }
        let package = try Self.package()
        let version = try ToolRunner.run(ReleaseProducts.path(of: "keytool"), ["--version"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try Self.field("Package", of: package) == Self.packageName)
        #expect(try Self.field("Version", of: package) == version)
        let architecture = try ToolRunner.run("/usr/bin/dpkg", ["--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(URL(fileURLWithPath: package).lastPathComponent == "\(Self.packageName)_\(version)_\(architecture).deb")

        // The runtime dependencies are the binaries' own: every shared library they need belongs to
        // a package the Depends line names (found here independently of dpkg-shlibdeps).
        let depends = Self.dependencyNames(try Self.field("Depends", of: package))
        for binary in ["keytool", "miisserver"] {
            let libraries = try ToolRunner.run("/usr/bin/ldd", [ReleaseProducts.path(of: binary)]).stdout
                .split(separator: "\n").compactMap { line -> String? in
                    guard let arrow = line.range(of: "=> ") else { return nil }
                    return line[arrow.upperBound...].split(separator: " ").first.map(String.init)
                }
            #expect(!libraries.isEmpty)
            for library in libraries {
                let owner = try Self.owningPackage(of: library)
                #expect(depends.contains(owner), "\(binary) needs \(library) from \(owner), not in Depends \(depends)")
            }
        }
        for needed in ["libc6", "libssl3", "libsqlite3-0"] { #expect(depends.contains(needed), "\(needed)") }

        // Exactly the files the layout names: no server.json, no keys/, nothing from the build.
        let listing = try ToolRunner.run("/usr/bin/dpkg-deb", ["--contents", package])
        let paths = listing.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let start = line.range(of: " ./") else { return nil }
            let entry = line[start.upperBound...]
            return String(entry.split(separator: " ", maxSplits: 1).first ?? "")
        }.filter { !$0.isEmpty && !$0.hasSuffix("/") }.sorted()
        let tools = ["keytool", "miisactivate", "miisserver"]
        var expected = tools.flatMap { ["opt/miis/Bin/\($0)", "usr/bin/\($0)", "usr/share/man/man1/\($0).1.gz",
                                        "usr/share/bash-completion/completions/\($0)", "usr/share/zsh/vendor-completions/_\($0)",
                                        "usr/share/fish/vendor_completions.d/\($0).fish"] }
        expected += ["miis-heartbeat.service", "miis-heartbeat.timer", "miis-sync.service"].map { "lib/systemd/system/\($0)" }
        let documents = try FileManager.default.contentsOfDirectory(atPath: ToolRunner.repository.appendingPathComponent("docs").path)
            .filter { $0.hasSuffix(".md") }
        expected += (["README.md", "changelog.gz", "copyright", "key-file-reference-reader.py"] + documents)
            .map { "usr/share/doc/\(Self.packageName)/\($0)" }
        expected.append("usr/share/lintian/overrides/\(Self.packageName)")
        #expect(paths == expected.sorted())
        #expect(listing.stdout.contains("./usr/bin/keytool -> /opt/miis/Bin/keytool"))
        #expect(listing.stdout.contains("./opt/miis/Bin/miisserver link to ./opt/miis/Bin/miisactivate")
                || listing.stdout.contains("./opt/miis/Bin/miisactivate link to ./opt/miis/Bin/miisserver"),
                "miisactivate is a hard link of miisserver")
        for line in listing.stdout.split(separator: "\n") { #expect(line.contains(" root/root "), "\(line)") }

        // Nothing machine-specific or secret inside: no file holds this checkout's path (source
        // paths are mapped out at build time) or starts like a key file.
        let unpacked = try TemporaryDirectory("miis-deb-x")
        #expect(try ToolRunner.run("/usr/bin/dpkg-deb", ["-x", package, unpacked.path]).status == 0)
        let buildPath = Data(ToolRunner.repository.path.utf8)
        let enumerator = FileManager.default.enumerator(atPath: unpacked.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = unpacked.file(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == nil else { continue }
            let contents = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(contents.range(of: buildPath) == nil, "\(relative) holds the build path \(ToolRunner.repository.path)")
            #expect(!contents.starts(with: Self.keyFileMagic), "\(relative) is a key file")
        }

        // The changelog's newest entry is this version; the maintainer scripts are valid sh.
        let changelog = try ToolRunner.run("/bin/sh", ["-c", "zcat \"$1\" | head -n 1", "sh",
                                                       unpacked.file("usr/share/doc/\(Self.packageName)/changelog.gz")])
        #expect(changelog.stdout.hasPrefix("\(Self.packageName) (\(version))"), "\(changelog.stdout)")
        let control = try TemporaryDirectory("miis-deb-control")
        #expect(try ToolRunner.run("/usr/bin/dpkg-deb", ["--control", package, control.path]).status == 0)
        for script in ["postinst", "prerm", "postrm"] {
            #expect(try ToolRunner.run("/bin/sh", ["-n", control.file(script)]).status == 0, "\(script)")
        }
    }

    /// Which Debian package ships `library` (ldd prints /lib/... paths; merged-/usr packages may
    /// list them under /usr/lib).
    static func owningPackage(of library: String) throws -> String {
        let candidates = [library, library.hasPrefix("/usr/") ? String(library.dropFirst(4)) : "/usr" + library]
        for candidate in candidates {
            let result = try ToolRunner.run("/usr/bin/dpkg", ["-S", candidate])
            if result.status == 0, let owner = result.stdout.split(separator: ":").first { return String(owner) }
        }
        Issue.record("no package ships \(library)")
        return ""
    }

    /// lintian reports no error; each warning it reports is explained in packaging/debian/README.
    @Test func lintianAcceptsThePackage() throws {
        guard ReleaseProducts.check() else { return }
        let lintian = "/usr/bin/lintian"
        try #require(FileManager.default.isExecutableFile(atPath: lintian), "lintian is missing: scripts/install-deps.sh installs it")
        let package = try Self.package()
        let result = try ToolRunner.run(lintian, ["--fail-on", "error", "--no-tag-display-limit", package], timeout: 600)
        #expect(result.status == 0, "lintian: \(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("E: ") }.isEmpty, "\(result.stdout)")
        let readme = try String(contentsOf: ToolRunner.repository.appendingPathComponent("packaging/debian/README"), encoding: .utf8)
        let warnings = Set(lines.filter { $0.hasPrefix("W: ") }.compactMap { $0.split(separator: " ").dropFirst(2).first.map(String.init) })
        let unexplained = warnings.filter { !readme.contains($0) }.sorted()
        #expect(unexplained.isEmpty, "lintian warnings not explained in packaging/debian/README: \(unexplained)\n\(result.stdout)")
    }

    @Test func installedToolsRunByNameAndTheDemoPasses() throws {
        guard ReleaseProducts.check() else { return }
        let package = try Self.package()
        let packageVersion = try Self.field("Version", of: package)
        let root = try ThrowawayRoot(dependenciesOf: package)
        let install = try root.dpkg(["--install", package])
        #expect(install.status == 0, "\(install.stdout)\(install.stderr)")
        #expect(try root.installedVersion() == packageVersion)
        // Every installed file matches the package's md5sums.
        let verify = try root.dpkg(["--verify", Self.packageName])
        #expect(verify.status == 0 && verify.stdout.isEmpty, "dpkg --verify: \(verify.stdout)\(verify.stderr)")

        let bin = root.path + "/opt/miis/Bin"
        for tool in ["keytool", "miisactivate", "miisserver"] {
            let version = try ToolRunner.run(bin + "/" + tool, ["--version"])
            #expect(version.status == 0 && version.stdout == packageVersion + "\n", "\(tool): \(version.stderr)")
            let help = try ToolRunner.run(bin + "/" + tool, [tool == "miisactivate" ? "/?" : "--help"])
            #expect(help.status == 0 && help.stdout.contains(tool), "\(tool) help: \(help.stderr)")
            let manual = try ToolRunner.run("/usr/bin/man", ["-l", root.path + "/usr/share/man/man1/\(tool).1.gz"],
                                            environment: ["MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"])
            #expect(manual.status == 0 && manual.stdout.contains("NAME"), "man \(tool): \(manual.stderr)")
        }

        // By name from PATH, through the /usr/bin links: the tools find their installation, /opt/miis.
        let work = try TemporaryDirectory("miis-deb-server")
        try "Corr3ct horse – battery staple\n".write(toFile: work.file("pw"), atomically: true, encoding: .utf8)
        chmod(work.file("pw"), 0o600)
        let setup = try root.runByName("miisserver", ["setup", "--name", "sync1", "--database", work.file("shared.db"), "--role", "primary",
                                                     "--account", "CORP\\svc-sync", "--admin-group", "miis-deb-admins",
                                                     "--password-file", work.file("pw")])
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(FileManager.default.fileExists(atPath: root.path + "/opt/miis/server.json"))
        let status = try root.runByName("miisserver", ["status"])
        #expect(status.status == 0 && status.stdout.contains("sync1"), "\(status.stdout)\(status.stderr)")
        let keytool = try root.runByName("keytool", ["--version"])
        #expect(keytool.status == 0, "\(keytool.stderr)")

        // The README's main job on the installed binaries.
        let demo = try TemporaryDirectory("miis-deb-demo")
        let result = try ToolRunner.run("/bin/bash", [ToolRunner.repository.appendingPathComponent("scripts/demo.sh").path, demo.path],
                                        environment: ["PRODUCTS": bin], timeout: 300)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("activation succeeded"))
    }

    @Test func upgradeRemoveAndPurgeKeepAServersState() throws {
        guard ReleaseProducts.check() else { return }
        let package = try Self.package()
        let root = try ThrowawayRoot(dependenciesOf: package)
        #expect(try root.dpkg(["--install", package]).status == 0)
        let work = try TemporaryDirectory("miis-deb-state")
        try "Corr3ct horse – battery staple\n".write(toFile: work.file("pw"), atomically: true, encoding: .utf8)
        chmod(work.file("pw"), 0o600)
        let setup = try root.runByName("miisserver", ["setup", "--name", "sync1", "--database", work.file("shared.db"), "--role", "primary",
                                                     "--account", "CORP\\svc-sync", "--admin-group", "miis-deb-admins",
                                                     "--password-file", work.file("pw")])
        try #require(setup.status == 0, "\(setup.stderr)")
        // The server's own files (the database is outside the package's reach by construction; it
        // is checked to survive below).
        let state = [root.path + "/opt/miis/server.json", root.path + "/opt/miis/keys"]
        let before = try state.map(Self.fingerprint)

        // An upgrade to a newer package version (gzip: faster to build, same contents).
        let newer = try TemporaryDirectory("miis-deb-newer")
        let upgrade = try Self.build(into: newer.path, extra: ["--version", try Self.field("Version", of: package) + "+test1",
                                                               "--compression", "gzip"])
        let upgraded = try root.dpkg(["--install", upgrade])
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(upgraded.stdout.contains("over ("), "\(upgraded.stdout)")
        #expect(try root.installedVersion().hasSuffix("+test1"))
        #expect(try state.map(Self.fingerprint) == before, "the upgrade changed a server's state")
        let status = try root.runByName("miisserver", ["status"])
        #expect(status.status == 0, "after the upgrade: \(status.stderr)")

        let removed = try root.dpkg(["--remove", Self.packageName])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/opt/miis/Bin/miisserver"))
        #expect(try state.map(Self.fingerprint) == before, "the removal changed a server's state")

        let purged = try root.dpkg(["--purge", Self.packageName])
        #expect(purged.status == 0, "\(purged.stderr)")
        #expect(purged.stderr.contains("purge keeps /opt/miis/server.json"), "\(purged.stderr)")
        #expect(purged.stderr.contains("purge keeps /opt/miis/keys"), "\(purged.stderr)")
        #expect(purged.stderr.contains("purge keeps the deployment's database"), "\(purged.stderr)")
        #expect(try state.map(Self.fingerprint) == before, "the purge changed a server's state")
        #expect(FileManager.default.fileExists(atPath: work.file("shared.db")))
    }

    /// A file's or a directory's contents, names and modes, for before/after comparisons.
    static func fingerprint(_ path: String) throws -> String {
        let script = "if [ -d \"$1\" ]; then cd \"$1\" && find . -printf '%p %m\\n' -type f -exec sha256sum {} + | sort; "
            + "else stat -c '%a' \"$1\" && sha256sum \"$1\"; fi"
        let result = try ToolRunner.run("/bin/sh", ["-c", script, "sh", path])
        try #require(result.status == 0 && !result.stdout.isEmpty, "\(path): \(result.stderr)")
        return result.stdout
    }
}

/// A directory dpkg installs into with `--root`, as onto a machine of its own: its own package
/// database, holding only the host's entries for the package's dependencies (so dpkg checks them
/// against real Debian package versions). Maintainer scripts run without chroot, with
/// `DPKG_ROOT` set (`--force-script-chrootless`), which ours honour.
final class ThrowawayRoot {
    let directory: TemporaryDirectory
    var path: String { directory.path }
    var admin: String { path + "/var/lib/dpkg" }

    init(dependenciesOf package: String) throws {
        directory = try TemporaryDirectory("miis-deb-root")
        for folder in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "var/log"] {
            try FileManager.default.createDirectory(atPath: directory.file(folder), withIntermediateDirectories: true)
        }
        let depends = DebianPackageTests.dependencyNames(try DebianPackageTests.field("Depends", of: package))
        let status = try ToolRunner.run("/usr/bin/dpkg-query", ["--status"] + depends)
        try #require(status.status == 0, "the host lacks a dependency: \(status.stderr)")
        try status.stdout.write(toFile: directory.file("var/lib/dpkg/status"), atomically: true, encoding: .utf8)
        let architecture = try ToolRunner.run("/usr/bin/dpkg", ["--print-architecture"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for name in depends {
            for list in ["\(name).list", "\(name):\(architecture).list"] {
                _ = FileManager.default.createFile(atPath: directory.file("var/lib/dpkg/info/\(list)"), contents: Data())
            }
        }
    }

    func dpkg(_ arguments: [String]) throws -> ToolRunner.Result {
        try ToolRunner.run("/usr/bin/dpkg", ["--root=\(path)", "--force-script-chrootless", "--log=\(path)/var/log/dpkg.log"] + arguments,
                           environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"], timeout: 300)
    }

    func installedVersion() throws -> String {
        try ToolRunner.run("/usr/bin/dpkg-query", ["--admindir=\(admin)", "--show", "--showformat=${Version}",
                                                   DebianPackageTests.packageName]).stdout
    }

    /// Runs an installed tool by name from PATH (the root's /usr/bin first), in a private mount
    /// namespace where the root's /opt is mounted on /opt: the /usr/bin links then resolve as on
    /// a machine the package was installed on, and nothing outside the namespace sees it.
    func runByName(_ tool: String, _ arguments: [String]) throws -> ToolRunner.Result {
        try ToolRunner.run("/usr/bin/unshare", ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                                                "mount --bind \"$0/opt\" /opt && exec \"$@\"", path, tool] + arguments,
                           environment: ["PATH": "\(path)/usr/bin:/usr/bin:/bin"])
    }
}
