import Foundation
import Testing

/// Runs the built executables (`keytool`, `miisactivate`, `miisserver`) as a user would, capturing
/// their output and exit status. `swift build` must have built them (the README's test command does).
/// Serializes `Process.run()` across the test process's threads.
private let spawnLock = NSLock()

struct ToolRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        /// Everything the process printed, for leak searches.
        var allOutput: String { stdout + stderr }
    }

    /// The folder holding the built products: next to the test bundle, or `MIIS_TEST_PRODUCTS`
    /// (to run the end-to-end tests against other binaries, e.g. an older build, to see a new
    /// regression test fail there).
    static let productsDirectory: URL = {
        if let products = ProcessInfo.processInfo.environment["MIIS_TEST_PRODUCTS"], !products.isEmpty {
            return URL(fileURLWithPath: products)
        }
        var url = Bundle.main.bundleURL
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("keytool").path) { return withMultiCallLink(url) }
            url = url.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL
    }()

    /// miisactivate is the miisserver binary run under its other name (a multi-call binary):
    /// SwiftPM builds one file, so the name is a symbolic link next to it, as `make build` and
    /// `make test` make it; made here too for a plain `swift test`.
    private static func withMultiCallLink(_ products: URL) -> URL {
        let link = products.appendingPathComponent("miisactivate").path
        if !FileManager.default.fileExists(atPath: link) { _ = symlink("miisserver", link) }
        return products
    }

    /// SIGPIPE ignored once for the whole test process: writing to a child that already exited
    /// then fails with EPIPE (ignored by the callers) instead of killing every running suite.
    static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    static func path(of tool: String) -> String { productsDirectory.appendingPathComponent(tool).path }

    /// The repository's root, for its scripts/, docs/ and packaging/.
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `executable` (a product name or an absolute path) with `arguments`, feeding `stdin`.
    /// Extra environment entries are added to a minimal environment; `timeout` kills a hung child.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], stdin: String? = nil,
                    environment: [String: String] = [:], currentDirectory: String? = nil,
                    timeout: TimeInterval = 120) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : path(of: executable))
        process.arguments = arguments
        var env = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]
        env.merge(environment) { $1 }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let input = Pipe(), output = Pipe(), error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        // swift-corelibs-foundation's Process.run() is not safe to call from several threads at
        // once (it crashed in memcpy under the concurrency tests): spawn one child at a time; the
        // children themselves still run concurrently.
        try spawnLock.withLock { try process.run() }
        // A child that exits (or is killed) before reading its input must not SIGPIPE the test process.
        ToolRunner.ignoreBrokenPipes
        if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot fill one and block.
        nonisolated(unsafe) var errorData = Data()
        let errorReader = Thread { errorData = error.fileHandleForReading.readDataToEndOfFile() }
        errorReader.start()
        let deadline = DispatchTime.now() + timeout
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: deadline, execute: watchdog)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        while !errorReader.isFinished { usleep(1000) }
        // Closed now, not when the pipes are freed: the cancelled watchdog keeps the process, and
        // with it the pipes, until its deadline, so a suite that runs thousands of tools held
        // hundreds of descriptors; Foundation's Process.run() crashed (SIGSEGV in memmove) once
        // the test process had about 1,900 open (ToolRunnerTests).
        try? output.fileHandleForReading.close()
        try? error.fileHandleForReading.close()
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: outputData, as: UTF8.self),
                      stderr: String(decoding: errorData, as: UTF8.self))
    }
}

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ prefix: String = "miis-test") throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        path = url.path
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
