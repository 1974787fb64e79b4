import Foundation
import Testing
import ToolSupport
@testable import KeyFile

/// The age-style sample files in `Vectors/`: the generator reproduces them byte for byte (or
/// rewrites them when `MIIS_REGENERATE_VECTORS=1`), and every manifest entry has its outcome.
@Suite struct TestVectorTests {
    static let sourceDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static var bundleDirectory: URL {
        Bundle.module.url(forResource: "Vectors", withExtension: nil)!
    }

    static func load(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: bundleDirectory.appendingPathComponent(name)))
    }

    static func manifest() throws -> VectorManifest {
        try JSONDecoder().decode(VectorManifest.self, from: Data(contentsOf: bundleDirectory.appendingPathComponent("manifest.json")))
    }

    @Test func generatorReproducesTheCommittedFiles() throws {
        let (files, manifest) = try VectorGenerator.generate()
        if ProcessInfo.processInfo.environment["MIIS_REGENERATE_VECTORS"] == "1" {
            let fm = FileManager.default
            for old in try fm.contentsOfDirectory(atPath: Self.sourceDirectory.path) where old.hasSuffix(".bin") {
                try fm.removeItem(at: Self.sourceDirectory.appendingPathComponent(old))
            }
            for (name, bytes) in files { try Data(bytes).write(to: Self.sourceDirectory.appendingPathComponent(name)) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try (encoder.encode(manifest) + Data("\n".utf8)).write(to: Self.sourceDirectory.appendingPathComponent("manifest.json"))
            return
        }
        let committed = try FileManager.default.contentsOfDirectory(atPath: Self.bundleDirectory.path).filter { $0.hasSuffix(".bin") }
        #expect(Set(committed) == Set(files.keys))
        for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
            #expect(try Self.load(name) == bytes, "\(name) differs from what the generator produces")
        }
        #expect(try Self.manifest() == manifest)
    }

    @Test func manifestCoversEveryFile() throws {
        let manifest = try Self.manifest()
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: Self.bundleDirectory.path).filter { $0.hasSuffix(".bin") })
        #expect(Set(manifest.entries.map(\.file)) == files)
        #expect(Set(manifest.entries.map(\.name)).count == manifest.entries.count)
        // Non-ASCII passwords and accounts are part of the set.
        #expect(manifest.entries.contains { $0.password.unicodeScalars.contains { !$0.isASCII } && $0.expected.outcome == "success" })
        #expect(manifest.entries.contains { $0.account.unicodeScalars.contains { !$0.isASCII } && $0.expected.outcome == "success" })
    }

    static let entryNames: [String] = {
        (try? manifest().entries.map(\.name)) ?? []
    }()

    @Test(arguments: entryNames)
    func manifestEntry(_ name: String) throws {
        let entry = try #require(try Self.manifest().entries.first { $0.name == name })
        let bytes = try Self.load(entry.file)
        let policy: KDFParameters.Policy = entry.policy == "standard" ? .standard : .allowWeak
        do {
            // Format section 7, step 0: the credentials are normalized and checked before the file.
            let password = try entry.passwordInputHex.map { try Password(utf8: SecureBytes(hex($0))) } ?? Password(entry.password)
            #expect(password.bytes.unsafeCopyToArray().hexString == entry.passwordNFCHex)
            let credentials = Credentials(account: try ServiceAccount(entry.account), password: password)
            if entry.operation == "inspect" {
                // What keytool inspect reports: the header, or damage when the checksum fails.
                let (_, checksumHolds) = try SealedKeyFile.inspect(bytes: bytes)
                if !checksumHolds { throw KeyFileError.checksumMismatch() }
                #expect(entry.expected.outcome == "success", "\(name)")
                return
            }
            let file = try SealedKeyFile(bytes: bytes).open(with: credentials, policy: policy)
            #expect(entry.expected == .success(file.keySet), "\(name)")
            // read-then-write is byte-identical
            #expect(try file.serialized(with: credentials) == bytes)
        } catch let error as KeyFileError {
            #expect(entry.expected.outcome == "error", "\(name) failed unexpectedly: \(error.code) \(error.message)")
            #expect(error.category.rawValue == entry.expected.category, "\(name): \(error.code) \(error.message)")
            #expect(error.code.rawValue == entry.expected.code, "\(name): \(error.code) \(error.message)")
            #expect(ExitCodes.status(for: error) == entry.expected.exitCode)
        }
    }

    /// The stranger's implementation (docs/key-file-reference-reader.py, written from the
    /// specification) reaches every manifest outcome. Needs python3 with `cryptography`.
    @Test(.enabled(if: TestVectorTests.pythonReaderAvailable, "python3 with the cryptography module"))
    func referenceReaderAgrees() throws {
        let reader = Self.sourceDirectory.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/key-file-reference-reader.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", reader.path, Self.bundleDirectory.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the reference reader disagrees:\n\(text.split(separator: "\n").filter { !$0.hasPrefix("OK") }.joined(separator: "\n"))")
        #expect(text.split(separator: "\n").count == (try Self.manifest().entries.count))
    }

    static let pythonReaderAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import cryptography"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    @Test func ceilingFilesAreRefusedFast() throws {
        for (name, account, password) in [("scrypt-ceiling.bin", "sync", "password"), ("pbkdf2-ceiling.bin", "MÜNCHEN\\Jörg", "x")] {
            let sealed = try SealedKeyFile(bytes: try Self.load(name))
            let credentials = Credentials(account: try ServiceAccount(account), password: try Password(password))
            let clock = ContinuousClock()
            let start = clock.now
            let error = keyFileError { try sealed.open(with: credentials, policy: .allowWeak) }
            let elapsed = clock.now - start
            #expect(error?.code.rawValue == "parametersOutOfBounds.ceiling")
            #expect(elapsed < .milliseconds(500), "\(name) took \(elapsed): derivation must not have started")
        }
    }

    @Test func unknownNonCriticalFieldIsPreserved() throws {
        let bytes = try Self.load("unknown-noncritical.bin")
        let sealed = try SealedKeyFile(bytes: bytes)
        #expect(sealed.header.minorVersion == 3)
        #expect(sealed.header.unknownFields == [UnknownHeaderField(type: 0x0042, value: Array("written by a future minor version".utf8))])
        let credentials = Credentials(account: try ServiceAccount("corp\\sync"), password: try Password("future"))
        let file = try sealed.open(with: credentials, policy: .allowWeak)
        #expect(try file.serialized(with: credentials) == bytes)
    }
}

@Suite struct ForgeryTests {
    @Test func forgedCheckValueDecryptsButFailsTheCheck() throws {
        let sealed = try SealedKeyFile(bytes: try TestVectorTests.load("forged-check-value.bin"))
        let credentials = Credentials(account: try ServiceAccount("CORP\\Sync"), password: try Password("multi-key password"))
        let error = keyFileError { try sealed.open(with: credentials, policy: .allowWeak) }
        #expect(error?.code.rawValue == "tampered.payload")
        #expect(error?.message.contains("check value of key 100") == true)
    }

    @Test func tamperedCiphertextFailsAuthentication() throws {
        let sealed = try SealedKeyFile(bytes: try TestVectorTests.load("tampered-payload.bin"))
        let credentials = Credentials(account: try ServiceAccount("sync"), password: try Password("password"))
        let error = keyFileError { try sealed.open(with: credentials, policy: .allowWeak) }
        #expect(error?.code.rawValue == "tampered.payload")
        #expect(error?.message.contains("AES-256-GCM") == true)
    }
}
