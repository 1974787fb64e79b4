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
        let password = try Password(entry.password)
        #expect(password.bytes.unsafeCopyToArray().hexString == entry.passwordNFCHex)
        let credentials = Credentials(account: try ServiceAccount(entry.account), password: password)
        let policy: KDFParameters.Policy = entry.policy == "standard" ? .standard : .allowWeak
        do {
            let file = try SealedKeyFile(bytes: bytes).open(with: credentials, policy: policy)
            #expect(entry.expected == .success(file.keySet), "\(name)")
            // read-then-write is byte-identical
            #expect(try file.serialized(with: credentials) == bytes)
        } catch let error as KeyFileError {
            #expect(entry.expected.outcome == "error", "\(name) failed unexpectedly: \(error.code) \(error.message)")
            #expect(error.category.rawValue == entry.expected.category)
            #expect(error.code.rawValue == entry.expected.code)
            #expect(ExitCodes.status(for: error) == entry.expected.exitCode)
        }
    }

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
