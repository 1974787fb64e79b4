import Deployment
import Foundation
import KeyFile
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// How a tool finds its installation: its own `<install>/Bin` first (symbolic links resolved),
/// then `--install-dir`, then `MIIS_INSTALL_DIR`.
@Suite("Installation location")
struct InstallationLocationTests {
    let root: String
    let alpha: String
    let beta: String

    init() throws {
        root = try temporaryDirectory()
        alpha = root + "/alpha"
        beta = root + "/beta"
        for (name, directory) in [("alpha", alpha), ("beta", beta)] {
            let configuration = ServerConfiguration(serverName: name, softwareVersion: SchemaCatalog.currentSoftwareVersion,
                                                    database: root + "/db.sqlite", adminGroup: "root",
                                                    serviceAccount: try ServiceAccount("CORP\\svc"))
            _ = try ServerInstallation.create(directory: directory, configuration: configuration, replace: false)
            #expect(FileManager.default.createFile(atPath: directory + "/Bin/miisserver", contents: Data("#!/bin/sh\n".utf8)))
        }
    }

    func located(_ explicit: String?, executable: String?, environment: [String: String] = [:]) throws -> String {
        try ServerInstallation.locate(explicit: explicit, executablePath: executable, environment: environment).configuration.serverName
    }

    @Test func theExecutablesOwnBinComesFirst() throws {
        #expect(try located(nil, executable: alpha + "/Bin/miisserver", environment: ["MIIS_INSTALL_DIR": beta]) == "alpha")
        // The same installation named twice is no conflict, however it is spelled.
        #expect(try located(alpha + "/./", executable: alpha + "/Bin/miisserver") == "alpha")
    }

    @Test func throughASymbolicLinkTheRealPathCounts() throws {
        let link = root + "/elsewhere/miisserver"
        try FileManager.default.createDirectory(atPath: root + "/elsewhere", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: alpha + "/Bin/miisserver")
        #expect(try located(nil, executable: link) == "alpha")
    }

    @Test func aConflictingInstallDirIsRefusedNotIgnored() throws {
        let error = #expect(throws: DeploymentError.self) { try located(beta, executable: alpha + "/Bin/miisserver") }
        #expect(error?.kind == .installation)
        #expect(error?.message.contains("another installation") == true)
    }

    @Test func thenInstallDirThenTheEnvironment() throws {
        let build = root + "/build/debug/miisserver"
        #expect(try located(beta, executable: build, environment: ["MIIS_INSTALL_DIR": alpha]) == "beta")
        #expect(try located(nil, executable: build, environment: ["MIIS_INSTALL_DIR": alpha]) == "alpha")
        #expect(try located(nil, executable: nil, environment: ["MIIS_INSTALL_DIR": alpha]) == "alpha")
        let error = #expect(throws: DeploymentError.self) { try located(nil, executable: build) }
        #expect(error?.remedy == .locateInstallation)
    }

    /// A `Bin/` without `server.json` beside it (installed, not yet set up) is no installation,
    /// except for `setup`, which creates it there.
    @Test func setupInfersTheDirectoryFromBin() throws {
        let fresh = root + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh + "/Bin", withIntermediateDirectories: true)
        let executable = fresh + "/Bin/miisserver"
        #expect(try located(nil, executable: executable, environment: ["MIIS_INSTALL_DIR": alpha]) == "alpha")
        #expect(try ServerInstallation.directoryForSetup(explicit: nil, executablePath: executable, environment: [:]) == fresh)
        #expect(try ServerInstallation.directoryForSetup(explicit: nil, executablePath: executable, environment: ["MIIS_INSTALL_DIR": beta]) == fresh)
        #expect(try ServerInstallation.directoryForSetup(explicit: beta, executablePath: root + "/build/miisserver", environment: [:]) == beta)
        // A Bin/ without server.json is not an installation yet: --install-dir is no conflict...
        #expect(try ServerInstallation.directoryForSetup(explicit: beta, executablePath: executable, environment: [:]) == beta)
        // ...but the tool of an existing installation does not set up another one.
        #expect(throws: DeploymentError.self) {
            try ServerInstallation.directoryForSetup(explicit: beta, executablePath: alpha + "/Bin/miisserver", environment: [:])
        }
    }

    /// The running test binary's path comes from the kernel, not from argv[0].
    @Test func runningExecutableIsTheKernelsAnswer() throws {
        let path = try #require(ServerInstallation.runningExecutablePath())
        #expect(path.hasPrefix("/"))
        #expect(path == URL(fileURLWithPath: path).resolvingSymlinksInPath().path)
        #expect(FileManager.default.isExecutableFile(atPath: path))
    }
}
