import Deployment
import Foundation
import KeyFile
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A primary (or standby) `setup` that fails after its database write may have committed must
/// keep the installation the database refers to, and the same command re-run must finish it.
/// The failures are real (a full tmpfs) or thrown at fault points (`MIIS_FAULT_POINT=name:error`),
/// not SIGKILL: these tests run the error paths that the crash tests never reach.
@Suite("Setup failures", .serialized)
struct SetupFailureTests {
    /// What a failed primary setup left, read from the database and the installation.
    struct Aftermath {
        /// The deployment row names this server and the key set its installation holds.
        var committed: Bool
    }

    /// Checks the rule after a failed primary setup of `alpha` at `install` against `database`,
    /// then re-runs the same setup (after `repair` frees what failed) and checks it converged.
    static func expectConvergence(of failed: ToolRunner.Result, install: String, database: String, label: String,
                                  setup: () throws -> ToolRunner.Result, environment: [String: String] = [:],
                                  repair: () throws -> Void = {}, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Aftermath? {
        if failed.status == 0 { return nil }
        let lines = failed.stderr.split(separator: "\n")
        #expect(lines.count == 1 && failed.stderr.hasPrefix("miisserver: "), "\(label): \(failed.stderr)", sourceLocation: sourceLocation)
        let store = try DeploymentStoreFactory.open(location: database)
        let hasSchema = try await store.schemaVersion() != nil
        let row = hasSchema ? try await store.deployment() : nil
        let registered = hasSchema ? try await store.servers().map(\.name) : []
        try await store.close()
        let configuration = install + "/server.json", keyFile = install + "/keys/keyset.bin"
        var committed = false
        if let row {
            // The row is the truth: its key set must still be installed, or the deployment is bricked.
            #expect(row.activeServer == "alpha" && row.epoch == 1, "\(label)", sourceLocation: sourceLocation)
            #expect(FileManager.default.fileExists(atPath: configuration), "\(label): server.json deleted under a committed row: \(failed.stderr)",
                    sourceLocation: sourceLocation)
            let header = try? ServerInstallation(directory: install).installedKeyFileHeader()
            #expect(header?.keySetID == row.keySetID, "\(label): the committed key set was not kept: \(failed.stderr)", sourceLocation: sourceLocation)
            #expect(failed.stderr.contains("run the same miisserver setup again to finish it"), "\(label): \(failed.stderr)",
                    sourceLocation: sourceLocation)
            committed = true
        } else if failed.stderr.contains("cannot be read") {
            // Setup could not tell whether its row committed: it kept the files; the re-run resumes.
            #expect(FileManager.default.fileExists(atPath: configuration), "\(label): \(failed.stderr)", sourceLocation: sourceLocation)
            #expect(failed.stderr.contains("was kept; fix the cause and run the same miisserver setup again to finish it"), "\(label): \(failed.stderr)",
                    sourceLocation: sourceLocation)
        } else {
            // Nothing refers to the setup: its files and registration are undone.
            #expect(!FileManager.default.fileExists(atPath: configuration), "\(label): \(failed.stderr)", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: keyFile), "\(label): \(failed.stderr)", sourceLocation: sourceLocation)
            #expect(!registered.contains("alpha"), "\(label): registration left without a row", sourceLocation: sourceLocation)
        }
        try repair()
        let rerun = try setup()
        #expect(rerun.status == 0, "\(label): re-run: \(rerun.stderr)", sourceLocation: sourceLocation)
        let check = try ToolRunner.run("miisserver", ["check", "--install-dir", install], environment: environment)
        #expect(check.status == 0, "\(label): check after the re-run: \(check.stderr)", sourceLocation: sourceLocation)
        let after = try DeploymentStoreFactory.open(location: database)
        let final = try await after.deployment()
        try await after.close()
        #expect(final?.epoch == 1 && final?.activeServer == "alpha", "\(label)", sourceLocation: sourceLocation)
        if let row { #expect(final?.keySetID == row.keySetID, "\(label): the re-run replaced a committed key set", sourceLocation: sourceLocation) }
        #expect(try ServerInstallation(directory: install).installedKeyFileHeader()?.keySetID == final?.keySetID, "\(label)",
                sourceLocation: sourceLocation)
        return Aftermath(committed: committed)
    }

    static func primaryArguments(install: String, database: String, passwordFile: String) -> [String] {
        ["setup", "--install-dir", install, "--name", "alpha", "--database", database, "--role", "primary",
         "--account", "CORP\\svc", "--password-file", passwordFile] + DeploymentSandbox.weak
    }

    // MARK: - A real full file system

    /// A small tmpfs mounted for one test, unmounted (lazily if busy) when it ends.
    final class SmallFileSystem {
        /// What runs out.
        enum Resource: CustomStringConvertible {
            /// `nr_inodes`: every file, directory and hard link takes one.
            case inodes(left: Int)
            /// Data pages (`size`): file contents.
            case pages(left: Int)
            var description: String {
                switch self {
                case .inodes(let left): return "\(left) inodes left"
                case .pages(let left): return "\(left) pages left"
                }
            }
        }

        let path: String
        private let holder: TemporaryDirectory
        private var fillers: [String] = []
        static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

        /// `nil` when this process may not mount (not root, or no CAP_SYS_ADMIN).
        init?() throws {
            holder = try TemporaryDirectory("miis-tmpfs")
            path = holder.file("mnt")
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            guard mount("tmpfs", path, "tmpfs", 0, "size=1m,nr_inodes=64,mode=0755") == 0 else { return nil }
        }

        /// Fills the file system with filler files until `resource` runs out, then gives back what
        /// `resource` leaves.
        func fill(_ resource: Resource) {
            switch resource {
            case .inodes(let left):
                while true {
                    let filler = "\(path)/filler-\(fillers.count)"
                    let descriptor = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                    if descriptor < 0 {
                        #expect(errno == ENOSPC, "filling the tmpfs: \(String(cString: strerror(errno)))")
                        break
                    }
                    close(descriptor)
                    fillers.append(filler)
                }
                for _ in 0..<min(left, fillers.count) { unlink(fillers.removeLast()) }
            case .pages(let left):
                let filler = "\(path)/filler-data"
                let descriptor = open(filler, O_WRONLY | O_CREAT | O_EXCL, 0o600)
                guard descriptor >= 0 else { Issue.record("cannot create \(filler)"); return }
                defer { close(descriptor) }
                fillers.append(filler)
                let page = [UInt8](repeating: 0x5A, count: Self.pageSize)
                var written = 0
                while true {
                    let count = page.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    if count <= 0 {
                        #expect(count == 0 || errno == ENOSPC, "filling the tmpfs: \(String(cString: strerror(errno)))")
                        break
                    }
                    written += count
                }
                // Whole pages only: the pages past the new size are freed.
                let kept = max(0, written / Self.pageSize - left) * Self.pageSize
                #expect(ftruncate(descriptor, off_t(kept)) == 0)
            }
        }

        /// Frees everything the fillers took.
        func empty() {
            for filler in fillers { unlink(filler) }
            fillers.removeAll()
        }

        deinit {
            if umount(path) != 0 { umount2(path, Int32(MNT_DETACH)) }
        }
    }

    /// The installation on a tmpfs that runs out of inodes, then of data pages, part-way through
    /// setup, once for every amount of room left: the write that fails with ENOSPC is, in turn, the
    /// directories, server.json, the key file and (after the deployment row is committed)
    /// activation.json. Each time the rule holds, and the same setup re-run after freeing the
    /// space finishes it.
    @Test func fullFileSystemNeverDeletesACommittedKeySet() async throws {
        var committedFailures = 0
        for resource in (0...10).map(SmallFileSystem.Resource.inodes) + (0...10).map(SmallFileSystem.Resource.pages) {
            let sandbox = try DeploymentSandbox()
            guard let disk = try SmallFileSystem() else {
                if !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty || getuid() == 0 {
                    Issue.record("cannot mount a tmpfs: \(String(cString: strerror(errno)))")
                } else {
                    print("SKIPPED: the full file system test mounts a tmpfs and needs root")
                }
                return
            }
            let install = disk.path + "/alpha"
            let arguments = Self.primaryArguments(install: install, database: sandbox.database, passwordFile: sandbox.passwordFile)
            disk.fill(resource)
            let failed = try sandbox.miis(arguments)
            if failed.status == 0 {
                // Enough room: the larger amounts of this resource would succeed too.
                if case .pages = resource { break } else { continue }
            }
            let row: DeploymentState?
            do { row = try await sandbox.store().deployment() } catch { row = nil }
            if row != nil {
                // Only activation.json is written after the row: that is the write that failed.
                expectFailure(failed, 21, "cannot record the activation: \(install)/keys/activation.json: ")
                #expect(failed.stderr.contains("No space left on device; the deployment row of 'alpha' is committed, so the installation at \(install) was kept; fix the cause and run the same miisserver setup again to finish it"),
                        "\(resource): \(failed.stderr)")
            }
            let aftermath = try await Self.expectConvergence(
                of: failed, install: install, database: sandbox.database, label: "\(resource)",
                setup: { try sandbox.miis(arguments) }, repair: { disk.empty() })
            if aftermath?.committed == true { committedFailures += 1 }
        }
        #expect(committedFailures >= 1, "the ENOSPC after the committed row was never reached")
    }

    // MARK: - Errors thrown at fault points (SQLite)

    @Test func errorAfterTheRowKeepsTheInstallationAndTheRerunFinishes() async throws {
        let sandbox = try DeploymentSandbox()
        let failed = try sandbox.miis(Self.primaryArguments(install: sandbox.install("alpha"), database: sandbox.database, passwordFile: sandbox.passwordFile),
                                      environment: ["MIIS_FAULT_POINT": "setup.after-deployment-created:error"])
        expectFailure(failed, 15, "fault point setup.after-deployment-created: injected failure: Input/output error; the deployment row of 'alpha' is committed, so the installation at \(sandbox.install("alpha")) was kept; fix the cause and run the same miisserver setup again to finish it")
        #expect(try sandbox.state("alpha") == "fenced")
        let aftermath = try await Self.expectConvergence(of: failed, install: sandbox.install("alpha"), database: sandbox.database,
                                                         label: "after-deployment-created", setup: { try sandbox.setupPrimary() })
        #expect(aftermath?.committed == true)
        #expect(try sandbox.state("alpha") == "active")
    }

    @Test func errorBeforeTheRowStillCleansUp() async throws {
        for point in ["setup.after-configuration", "setup.after-keys-installed", "setup.after-register"] {
            let sandbox = try DeploymentSandbox()
            let failed = try sandbox.miis(Self.primaryArguments(install: sandbox.install("alpha"), database: sandbox.database, passwordFile: sandbox.passwordFile),
                                          environment: ["MIIS_FAULT_POINT": point + ":error"])
            expectFailure(failed, 15, "miisserver: fault point \(point): injected failure: Input/output error")
            #expect(!failed.stderr.contains("kept"), "\(failed.stderr)")
            #expect(try await sandbox.store().deployment() == nil)
            #expect(try await sandbox.store().servers().isEmpty)
            let aftermath = try await Self.expectConvergence(of: failed, install: sandbox.install("alpha"), database: sandbox.database,
                                                             label: point, setup: { try sandbox.setupPrimary() })
            #expect(aftermath?.committed == false)
        }
    }

    /// An error thrown after each of the setup's SQLite COMMITs (the outcome a client that lost
    /// the answer would see), before each COMMIT, and before each atomic rename.
    @Test func errorAtEveryWriteOfAPrimarySetupConverges() async throws {
        var committedFailures = 0
        let points = CrashSafetyTests.faultPoints([], repeated: ["sqlite.after-commit", "sqlite.before-commit", "atomic-write.before-rename"], hits: 4)
        for point in points {
            let sandbox = try DeploymentSandbox()
            let arguments = Self.primaryArguments(install: sandbox.install("alpha"), database: sandbox.database, passwordFile: sandbox.passwordFile)
            let failed = try sandbox.miis(arguments, environment: ["MIIS_FAULT_POINT": point + ":error"])
            let aftermath = try await Self.expectConvergence(of: failed, install: sandbox.install("alpha"), database: sandbox.database,
                                                             label: point, setup: { try sandbox.miis(arguments) })
            if aftermath?.committed == true { committedFailures += 1 }
        }
        #expect(committedFailures >= 2, "no injected error landed after the committed row")
    }

    /// The database cannot be read after the failure (`setup.read-after-failure`, a second armed
    /// point): setup cannot tell whether its row committed, so it keeps everything; the re-run
    /// finishes (row committed) or resumes from server.json (row not committed).
    @Test func unreadableDatabaseAfterTheFailureKeepsTheInstallation() async throws {
        let sandbox = try DeploymentSandbox()
        let install = sandbox.install("alpha")
        let failed = try sandbox.miis(Self.primaryArguments(install: install, database: sandbox.database, passwordFile: sandbox.passwordFile),
                                      environment: ["MIIS_FAULT_POINT": "setup.after-deployment-created:error,setup.read-after-failure:error"])
        expectFailure(failed, 15, "miisserver: fault point setup.after-deployment-created: injected failure: Input/output error; whether the deployment row of 'alpha' was committed cannot be read (fault point setup.read-after-failure: injected failure: Input/output error), so the installation at \(install) was kept; fix the cause and run the same miisserver setup again to finish it")
        let aftermath = try await Self.expectConvergence(of: failed, install: install, database: sandbox.database,
                                                         label: "read-after-failure", setup: { try sandbox.setupPrimary() })
        #expect(aftermath?.committed == true)
        // Every transaction failing before its COMMIT, then the read: kept, and the re-run resumes.
        var resumed = 0
        for point in CrashSafetyTests.faultPoints([], repeated: ["sqlite.before-commit"], hits: 4) {
            let sandbox = try DeploymentSandbox()
            let arguments = Self.primaryArguments(install: sandbox.install("alpha"), database: sandbox.database, passwordFile: sandbox.passwordFile)
            let failed = try sandbox.miis(arguments, environment: ["MIIS_FAULT_POINT": point + ":error,setup.read-after-failure:error"])
            if failed.stderr.contains("cannot be read") { resumed += 1 }
            _ = try await Self.expectConvergence(of: failed, install: sandbox.install("alpha"), database: sandbox.database,
                                                 label: point + " + unreadable", setup: { try sandbox.miis(arguments) })
        }
        #expect(resumed >= 1, "no run failed at the deployment row's transaction")
        // A standby: kept, then "already set up" (registered) or registered by the re-run.
        let standbys = try DeploymentSandbox()
        #expect(try standbys.setupPrimary().status == 0)
        for (index, point) in ["sqlite.after-commit", "sqlite.before-commit"].enumerated() {
            let name = "u\(index)"
            let arguments = ["setup", "--install-dir", standbys.install(name), "--name", name, "--database", standbys.database,
                             "--role", "standby", "--account", "CORP\\svc"]
            let result = try standbys.miis(arguments, environment: ["MIIS_FAULT_POINT": point + ":error,setup.read-after-failure:error"])
            expectFailure(result, 29, "whether the registration of '\(name)' was committed cannot be read (fault point setup.read-after-failure: injected failure: Input/output error), so the installation at \(standbys.install(name)) was kept; fix the cause and run the same miisserver setup again to finish it")
            #expect(FileManager.default.fileExists(atPath: standbys.install(name) + "/server.json"))
            let registered = try await standbys.store().servers().contains { $0.name == name }
            #expect(registered == (point == "sqlite.after-commit"), "\(point)")
            let rerun = try standbys.miis(arguments)
            if registered { expectFailure(rerun, 21, "already set up") } else { #expect(rerun.status == 0, "\(point): \(rerun.stderr)") }
            #expect(try standbys.state(name) == "standby", "\(point)")
        }
    }

    /// A standby whose registration committed although setup reported an error keeps server.json
    /// (the re-run answers "already set up"); one whose registration did not commit is undone.
    @Test func errorAtEveryWriteOfAStandbySetupConverges() async throws {
        let sandbox = try DeploymentSandbox()
        #expect(try sandbox.setupPrimary().status == 0)
        var kept = 0
        for (index, point) in CrashSafetyTests.faultPoints(["setup.after-configuration"], repeated: ["sqlite.after-commit", "sqlite.before-commit", "atomic-write.before-rename"], hits: 2).enumerated() {
            let name = "s\(index)"
            let arguments = ["setup", "--install-dir", sandbox.install(name), "--name", name, "--database", sandbox.database,
                             "--role", "standby", "--account", "CORP\\svc"]
            let result = try sandbox.miis(arguments, environment: ["MIIS_FAULT_POINT": point + ":error"])
            let registered = try await sandbox.store().servers().contains { $0.name == name }
            if result.status != 0 {
                #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.hasPrefix("miisserver: "), "\(point): \(result.stderr)")
                if registered {
                    expectFailure(result, 29, "server '\(name)' is registered in the deployment all the same, so the installation at \(sandbox.install(name)) was kept: the standby is set up")
                    #expect(FileManager.default.fileExists(atPath: sandbox.install(name) + "/server.json"), "\(point)")
                    kept += 1
                } else {
                    #expect(!FileManager.default.fileExists(atPath: sandbox.install(name) + "/server.json"), "\(point): \(result.stderr)")
                }
                let rerun = try sandbox.miis(arguments)
                if registered { expectFailure(rerun, 21, "already set up") } else { #expect(rerun.status == 0, "\(point): \(rerun.stderr)") }
            }
            #expect(try sandbox.state(name) == "standby", "\(point)")
        }
        #expect(kept >= 1, "no injected error landed after the registration's COMMIT")
    }

    // MARK: - PostgreSQL: an error after COMMIT

    /// The PostgreSQL store's COMMIT returns, then the error is thrown: what a client sees when
    /// the connection drops before COMMIT's answer arrives. Every transaction of the setup in turn.
    @Test func postgresCommitOutcomeUnknownNeverBricksThePrimary() async throws {
        var committedFailures = 0
        for hit in 1...6 {
            guard let database = try PostgresDeploymentTests.freshDatabase() else { return }
            let sandbox = try DeploymentSandbox()
            let arguments = Self.primaryArguments(install: sandbox.install("alpha"), database: database.url, passwordFile: sandbox.passwordFile)
            var environment = database.environment
            environment["MIIS_FAULT_POINT"] = "postgres.after-commit@\(hit):error"
            let failed = try sandbox.miis(arguments, environment: environment)
            let aftermath = try await Self.expectConvergence(of: failed, install: sandbox.install("alpha"), database: database.url,
                                                             label: "postgres.after-commit@\(hit)", setup: { try sandbox.miis(arguments, environment: database.environment) },
                                                             environment: database.environment)
            if aftermath?.committed == true { committedFailures += 1 }
        }
        #expect(committedFailures >= 1, "no injected error landed after the deployment row's COMMIT")
    }
}
