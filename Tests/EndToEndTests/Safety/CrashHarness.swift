import Deployment
import Foundation
import KeyFile
import Testing

/// Crash injection for the built tools: SIGKILL at a named fault point (`MIIS_FAULT_POINT`), or
/// after a delay, as a power cut or an OOM kill would.
enum CrashHarness {
    struct Outcome {
        /// Whether SIGKILL ended the process (else it exited by itself with `status`).
        let killed: Bool
        let status: Int32
        let elapsed: TimeInterval
    }

    /// Runs `tool` and SIGKILLs it after `milliseconds` unless it exited before.
    static func run(_ tool: String, _ arguments: [String], killAfter milliseconds: Int? = nil,
                    faultPoint: String? = nil, stdin: String? = nil, currentDirectory: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ToolRunner.path(of: tool))
        process.arguments = arguments
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": NSTemporaryDirectory(), "LANG": "C.UTF-8"]
        if let faultPoint { environment["MIIS_FAULT_POINT"] = faultPoint }
        process.environment = environment
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = Date()
        try process.run()
        // A child that exits (or is killed) before reading its input must not SIGPIPE the test process.
        ToolRunner.ignoreBrokenPipes
        if let stdin { try? input.fileHandleForWriting.write(contentsOf: Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        if let milliseconds {
            let deadline = Date().addingTimeInterval(Double(milliseconds) / 1000)
            while process.isRunning, Date() < deadline { usleep(500) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        let killed = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        return Outcome(killed: killed, status: process.terminationStatus, elapsed: Date().timeIntervalSince(start))
    }

    /// `count` kill delays spread evenly over 0 ... 1.2 × `duration` (the command's uncrashed run
    /// time, measured by the caller), so the kills land in start-up, in the work and at the end.
    static func delays(over duration: TimeInterval, count: Int) -> [Int] {
        let total = max(Int(duration * 1200), count)
        return (0..<count).map { $0 * total / max(count - 1, 1) }
    }

    /// Leftover temporary files of interrupted atomic writes under `directory` (recursively).
    static func strayTemporaries(in directory: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: directory)
        var found: [String] = []
        while let name = enumerator?.nextObject() as? String {
            if SecureFile.isTemporaryName((name as NSString).lastPathComponent) { found.append(name) }
        }
        return found
    }

    /// Opens `path` as a key file under `password`; nil when it does not exist. Any other outcome
    /// (a partial or mixed file) is an error the caller reports.
    static func open(_ path: String, account: String, password: String) throws -> KeyFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let credentials = Credentials(account: try ServiceAccount(account), password: try Password(password))
        return try SealedKeyFile(bytes: SecureFile.read(path)).open(with: credentials, policy: .allowWeak)
    }

    static func mode(of path: String) -> mode_t? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o7777
    }

    /// `PRAGMA integrity_check` of the SQLite database, and its deployment row (nil: none yet).
    static func database(_ path: String) async throws -> (integrity: String, deployment: DeploymentState?, store: SQLiteDeploymentStore)? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let store = try SQLiteDeploymentStore(path: path)
        let integrity = try await store.integrityCheck()
        let deployment = (try? await store.schemaVersion()) != nil ? try await store.deployment() : nil
        return (integrity, deployment, store)
    }
}
