// libFuzzer entry point for the key-file parser. Built by scripts/fuzz.sh, which compiles this file
// together with Sources/KeyFile/**/*.swift as ONE module (so `internal` API such as DerivedKeys is
// visible and `internal import COpenSSL` resolves); it is not part of the Swift package.
//
// Every input goes through three stages:
//  1. `SealedKeyFile.inspect(bytes:)` and `SealedKeyFile(bytes:)` on the raw bytes;
//  2. the same bytes with the trailing SHA-256 recomputed (the fuzzer cannot forge a checksum,
//     so without this almost no mutation would reach the structure parser through `init(bytes:)`),
//     then `open(with:policy: .allowWeak)` under fixed test credentials;
//  3. "re-sealed": the header MAC recomputed and the payload bytes taken as the *plaintext*,
//     encrypted under the derived key, so the fuzzer steers what `KeyFilePayload.decode` sees.
// Stages 2-3 derive keys only when the KDF is cheap (scrypt N*r*p <= 2^13, i.e. logN <= 10 at
// r = 8, p = 1, or PBKDF2 <= 1000 iterations); dearer but in-bounds parameters would only slow the
// fuzzer down (the ceiling itself is exercised by HostileFileTests). Everything else still runs.
//
// Oracles (a violation aborts, which libFuzzer reports as a crash):
//  - nothing traps and ASan sees no memory error;
//  - every thrown error is a KeyFileError (the library's single error type);
//  - `init(bytes:)` succeeds exactly when `inspect` succeeds with `checksumHolds == true`, with the same header;
//  - a parsed header re-encodes to exactly the bytes it was parsed from (no non-canonical encoding accepted);
//  - a file that opens re-serializes to exactly its input bytes (deterministic, canonical writer).

import Foundation

private let fuzzAccount = try! ServiceAccount("FUZZ\\Sync")
private let fuzzCredentials = Credentials(account: fuzzAccount, password: try! Password("fuzz pässword"))

private func violation(_ message: String) -> Never {
    fatalError("fuzz oracle violated: \(message)")
}

/// Runs `body`; a thrown error must be a KeyFileError.
private func expectTypedErrors<T>(_ what: String, _ body: () throws -> T) -> T? {
    do { return try body() } catch is KeyFileError { return nil } catch { violation("\(what) threw a non-KeyFileError: \(error)") }
}

/// Whether deriving keys for these parameters is cheap enough to do on every execution.
func isCheapForFuzzing(_ kdf: KDFParameters) -> Bool {
    switch kdf {
    case let .scrypt(logN, r, p):
        // Overflow-checked: r and p are fuzzer-chosen 32-bit values (crash-e2455b96 was this
        // product overflowing in the harness itself, with r = p = 0xFFFFFFFF).
        guard logN <= 13 else { return false }
        let (nr, overflow1) = (UInt64(1) << UInt64(logN)).multipliedReportingOverflow(by: UInt64(r))
        let (nrp, overflow2) = nr.multipliedReportingOverflow(by: UInt64(p))
        return !overflow1 && !overflow2 && nrp <= 1 << 13
    case let .pbkdf2SHA256(iterations):
        return iterations <= 1000
    }
}

private func withChecksum(_ bytes: [UInt8]) -> [UInt8] {
    guard bytes.count >= SealedKeyFile.checksumSize else { return bytes }
    var fixed = bytes
    let split = bytes.count - SealedKeyFile.checksumSize
    guard let digest = try? SHA256.hash(bytes[..<split]) else { violation("SHA-256 failed") }
    fixed.replaceSubrange(split..., with: digest)
    return fixed
}

private func checkHeaderCanonical(_ file: SealedKeyFile) {
    // The fields sit between the 18-byte preamble and the end of the authenticated prefix.
    let fields = file.authenticatedPrefix.dropFirst(SealedKeyFile.preambleSize)
    guard let encoded = try? file.header.encodedFields() else { return } // e.g. KDF past the ceiling: refused at open
    if !encoded.elementsEqual(fields) { violation("a header was accepted that does not re-encode to its own bytes") }
}

private func open(_ bytes: [UInt8], stage: String) {
    guard let sealed = expectTypedErrors("init(bytes:) [\(stage)]", { try SealedKeyFile(bytes: bytes) }) else { return }
    checkHeaderCanonical(sealed)
    guard isCheapForFuzzing(sealed.header.kdf), sealed.header.account == fuzzAccount else { return }
    guard let opened = expectTypedErrors("open [\(stage)]", { try sealed.open(with: fuzzCredentials, policy: .allowWeak) }) else { return }
    guard let again = expectTypedErrors("serialized", { try opened.serialized(with: fuzzCredentials) }) else {
        violation("a file that opened cannot be serialized again")
    }
    if again != bytes { violation("a file opened but does not re-serialize to its own bytes") }
}

/// Recomputes the header MAC and encrypts the payload bytes (minus the tag room) as plaintext.
private func resealed(_ sealed: SealedKeyFile) -> [UInt8]? {
    guard isCheapForFuzzing(sealed.header.kdf), sealed.header.account == fuzzAccount,
          (try? sealed.header.kdf.check(.allowWeak)) != nil else { return nil }
    guard let keys = expectTypedErrors("derive", { try DerivedKeys(kdf: sealed.header.kdf, salt: sealed.header.salt, credentials: fuzzCredentials) }),
          let mac = expectTypedErrors("mac", { try keys.headerMAC(over: sealed.authenticatedPrefix) })
    else { return nil }
    let plaintext = Array(sealed.payload.dropLast(AES256GCM.tagSize))
    guard let ciphertext = expectTypedErrors("seal", {
        try AES256GCM.seal(plaintext, key: keys.payloadKey, nonce: sealed.header.nonce, associatedData: Array(sealed.authenticatedPrefix))
    }) else { return nil }
    var bytes = Array(sealed.authenticatedPrefix)
    bytes += mac
    bytes += sealed.bytes[sealed.payload.startIndex - 4 ..< sealed.payload.startIndex] // the payload length
    bytes += ciphertext
    bytes += [UInt8](repeating: 0, count: SealedKeyFile.checksumSize)
    return withChecksum(bytes)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []

    // Stage 1: the raw bytes.
    let inspected = expectTypedErrors("inspect") { try SealedKeyFile.inspect(bytes: bytes) }
    let parsed = expectTypedErrors("init(bytes:)") { try SealedKeyFile(bytes: bytes) }
    switch (inspected, parsed) {
    case let (inspected?, parsed?):
        if !inspected.checksumHolds { violation("init(bytes:) accepted a file whose checksum inspect says fails") }
        if inspected.file.header != parsed.header { violation("inspect and init(bytes:) disagree on the header") }
    case let (inspected?, nil):
        if inspected.checksumHolds { violation("inspect accepted a checksummed file that init(bytes:) refused") }
    case (nil, _?):
        violation("init(bytes:) accepted a file inspect refused")
    case (nil, nil):
        break
    }
    if let inspected { checkHeaderCanonical(inspected.file) }

    // Stage 2: checksum recomputed, then opened.
    let fixed = withChecksum(bytes)
    open(fixed, stage: "checksum fixed")

    // Stage 3: MAC recomputed and the payload re-sealed from fuzzer-chosen plaintext.
    if let sealed = try? SealedKeyFile(bytes: fixed), let resealed = resealed(sealed) {
        open(resealed, stage: "resealed")
    }
    return 0
}

// MARK: - Seeds

/// With `MIIS_FUZZ_WRITE_SEEDS=DIR` in the environment the binary writes a small seed corpus of
/// valid files (under the fuzz credentials, cheap KDFs) into DIR and exits; scripts/fuzz.sh uses
/// this to refresh Fuzz/corpus/.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    guard let directory = ProcessInfo.processInfo.environment["MIIS_FUZZ_WRITE_SEEDS"] else { return 0 }
    do {
        let created: Int64 = 1_767_225_600 // 2026-01-01T00:00:00Z
        func write(_ name: String, _ file: KeyFile) throws {
            let bytes = try file.serialized(with: fuzzCredentials)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        let one = try KeySet.generate(count: 1, createdAt: created)
        try write("scrypt-logn4-1key.bin", try KeyFile(keySet: one, account: fuzzAccount, sourceServer: "sync1",
                                                        kdf: .scrypt(logN: 4, r: 1, p: 1), policy: .allowWeak, createdAt: created))
        let three = try KeySet.generate(count: 3, algorithm: .hmacSHA256, createdAt: created)
        var withExtras = try KeyFile(keySet: three, account: fuzzAccount, sourceServer: "sync-primary.example.org",
                                     kdf: .pbkdf2SHA256(iterations: 1), policy: .allowWeak, createdAt: created,
                                     comment: "exported before the migration\nsecond line").header
        withExtras.unknownFields = [UnknownHeaderField(type: 0x0009, value: [1, 2, 3]), UnknownHeaderField(type: 0x7FFF, value: [])]
        try write("pbkdf2-1iter-3keys-extras.bin", try KeyFile(header: withExtras, keySet: three))
        // Mixed statuses: a retired and a disabled key beside the active primary.
        let material = { try SecureBytes.random(count: 32) }
        let mixed = try KeySet(id: UUID(), keys: [
            try Key(descriptor: KeyDescriptor(id: KeyID(rawValue: 7), algorithm: .aes256GCM, status: .retired, createdAt: created - 86_400, isPrimary: false), material: material()),
            try Key(descriptor: KeyDescriptor(id: KeyID(rawValue: 9), algorithm: .aes256GCM, status: .active, createdAt: created, isPrimary: true), material: material()),
            try Key(descriptor: KeyDescriptor(id: KeyID(rawValue: 0xFFFF_FFFF), algorithm: .hmacSHA256, status: .disabled, createdAt: 0, isPrimary: false), material: material()),
        ])
        try write("scrypt-logn1-mixed-status.bin", try KeyFile(keySet: mixed, account: fuzzAccount, sourceServer: "sÿnc-ü",
                                                                kdf: .scrypt(logN: 1, r: 1, p: 2), policy: .allowWeak, createdAt: created))
        try write("pbkdf2-1000iter-1key.bin", try KeyFile(keySet: one, account: fuzzAccount, sourceServer: "s",
                                                           kdf: .pbkdf2SHA256(iterations: 1000), policy: .allowWeak, createdAt: created))
        // Not opened by the harness (KDF too dear) but parsed: the recommended parameters.
        try write("scrypt-recommended-parse-only.bin", try KeyFile(keySet: one, account: fuzzAccount, sourceServer: "sync1", createdAt: created))
    } catch {
        fatalError("cannot write seeds: \(error)")
    }
    exit(0)
}
