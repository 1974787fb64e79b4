import Foundation
import Testing

/// The runbook's commands run by bare name from `PATH`, through a symbolic link elsewhere or as
/// sudo starts them find the installation whose `Bin/` holds the binary, from the kernel's
/// `/proc/self/exe`, with no `--install-dir` and no `MIIS_INSTALL_DIR`, from any working directory.
@Suite(.serialized) struct LocateInstallationTests {
    /// Copies the built `tools` into `<install>/Bin` as scripts/install.sh lays them out (0755);
    /// only miisserver by default (a debug binary is 100 MB).
    static func installTools(into install: String, _ tools: [String] = ["miisserver"]) throws {
        let bin = install + "/Bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for tool in tools {
            let target = bin + "/" + tool
            try? FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: ToolRunner.path(of: tool), toPath: target)
            #expect(chmod(target, 0o755) == 0)
        }
    }

    /// Runs `command` through `/bin/sh` with `path` first on `PATH`, from `/`.
    static func shell(_ command: String, path: String, stdin: String? = nil) throws -> ToolRunner.Result {
        try ToolRunner.run("/bin/sh", ["-c", command], stdin: stdin,
                           environment: ["PATH": path + ":/usr/local/bin:/usr/bin:/bin"], currentDirectory: "/")
    }

    @Test func statusByBareNameFromPathAndThroughASymlink() throws {
        let deployment = try DeploymentFixture()
        let install = deployment.installDirectory("sync1")
        try Self.installTools(into: install)

        let byName = try Self.shell("miisserver status", path: install + "/Bin")
        #expect(byName.status == 0, "\(byName.stderr)")
        #expect(byName.stdout.contains("sync1"))
        #expect(byName.stdout.contains(install))

        let links = deployment.root.file("links")
        try FileManager.default.createDirectory(atPath: links, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: links + "/miisserver", withDestinationPath: install + "/Bin/miisserver")
        let throughLink = try Self.shell("miisserver status", path: links)
        #expect(throughLink.status == 0, "\(throughLink.stderr)")
        #expect(throughLink.stdout.contains(install))

        // As sudo runs it: the executable found on sudo's secure_path, argv[0] left as typed (a bare
        // name), the environment reset (no MIIS_INSTALL_DIR, no HOME); here `exec -a` and `env -i`.
        let asSudo = try ToolRunner.run("/usr/bin/env", ["-i", "/bin/bash", "-c", "exec -a miisserver \"$0\" status", install + "/Bin/miisserver"],
                                        currentDirectory: "/")
        #expect(asSudo.status == 0, "\(asSudo.stderr)")
        #expect(asSudo.stdout.contains(install))

        // The tool of one installation is not pointed at another one by a stray flag.
        let conflicting = try Self.shell("miisserver status --install-dir '\(deployment.installDirectory("sync2"))'", path: install + "/Bin")
        #expect(conflicting.status == 21)
        #expect(conflicting.stderr.contains("another installation"), "\(conflicting.stderr)")
    }

    /// `make install PREFIX=DIR` then `miisserver setup` by name sets up DIR.
    @Test func setupByBareNameSetsUpItsOwnPrefix() throws {
        let deployment = try DeploymentFixture(standbys: [])
        let prefix = deployment.root.file("sync3")
        try Self.installTools(into: prefix)
        let setup = try Self.shell("miisserver setup --name sync3 --database '\(deployment.database)' --role standby --account 'CORP\\svc-sync'",
                                   path: prefix + "/Bin")
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(FileManager.default.fileExists(atPath: prefix + "/server.json"))
        let status = try Self.shell("miisserver status", path: prefix + "/Bin")
        #expect(status.status == 0, "\(status.stderr)")
        #expect(status.stdout.contains("sync3"))
    }
}
