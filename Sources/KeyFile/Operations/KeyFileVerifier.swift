#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Checks many key files at once: structure and checksum without a password, or a full
/// authenticated open with credentials. Results stream back in the order of the sorted path list
/// while the work runs on a bounded number of threads (see ``OrderedParallelRunner``).
public struct KeyFileVerifier: Sendable {
    /// How deep a check goes.
    public enum Mode: Sendable {
        /// Size bounds, magic, whole-file checksum, version, strict structure and the KDF bounds
        /// under `policy`. The header is *not* authenticated: that needs the password.
        case integrity(policy: KDFParameters.Policy)
        /// Everything ``integrity(policy:)`` checks, then the header MAC, the AEAD payload and every
        /// key's check value, under `credentials`.
        case open(credentials: Credentials, policy: KDFParameters.Policy)

        /// Whether this mode authenticates the header.
        public var isAuthenticated: Bool {
            if case .open = self { return true }
            return false
        }
    }

    public let mode: Mode
    /// The number of worker threads; defaults to the active processor count.
    public let jobs: Int

    /// The memory all workers' KDF derivations may hold at once (the per-file ceiling bounds one
    /// file; this bounds the run).
    public let kdfBudget: KDFMemoryBudget

    /// The default worker count: the number of active processors.
    public static var defaultJobs: Int { OrderedParallelRunner.defaultJobs }

    public init(mode: Mode, jobs: Int = KeyFileVerifier.defaultJobs, kdfBudget: KDFMemoryBudget = KDFMemoryBudget()) {
        self.mode = mode
        self.jobs = max(1, jobs)
        self.kdfBudget = kdfBudget
    }

    /// Verifies one file. Never throws: every failure becomes a ``VerificationResult`` with its error.
    public func verify(_ path: String) -> VerificationResult {
        do {
            let bytes = try SecureFile.read(path)
            let sealed = try SealedKeyFile(bytes: bytes)
            switch mode {
            case let .integrity(policy):
                try sealed.header.kdf.check(policy)
                return VerificationResult(path: path, header: sealed.header, fingerprint: nil, error: nil)
            case let .open(credentials, policy):
                let file = try sealed.open(with: credentials, policy: policy, budget: kdfBudget)
                return VerificationResult(path: path, header: sealed.header, fingerprint: file.keySet.fingerprint, error: nil)
            }
        } catch let error as KeyFileError {
            return VerificationResult(path: path, header: nil, fingerprint: nil, error: error)
        } catch {
            return VerificationResult(path: path, header: nil, fingerprint: nil,
                                      error: KeyFileError(.cryptoFailure, code: "unexpected", "\(error)"))
        }
    }

    /// Verifies every collected path in parallel, calling `emit` on the calling thread once per
    /// path in list order, and returns the tally.
    @discardableResult
    public func verify(_ paths: [CollectedPath], emit: (VerificationResult) -> Void) -> VerificationSummary {
        var summary = VerificationSummary(authenticated: mode.isAuthenticated)
        let verifier = self
        // An integrity check costs microseconds: hand files out in batches so the threads do not
        // meet on the lock per file. An open costs a key derivation: one file at a time keeps
        // every worker busy to the end.
        let batch = mode.isAuthenticated ? 1 : 32
        OrderedParallelRunner.run(count: paths.count, jobs: jobs, batch: batch, work: { index in
            let entry = paths[index]
            if let problem = entry.problem {
                return VerificationResult(path: entry.path, header: nil, fingerprint: nil, error: problem)
            }
            return verifier.verify(entry.path)
        }, emit: { _, result in
            summary.add(result)
            emit(result)
        })
        return summary
    }
}

/// The outcome of verifying one file.
public struct VerificationResult: Sendable {
    public let path: String
    /// The parsed header, when the file got that far.
    public let header: KeyFileHeader?
    /// The key-set fingerprint, when the file was opened with credentials.
    public let fingerprint: String?
    /// Why the file failed, or nil when it passed.
    public let error: KeyFileError?

    public var passed: Bool { error == nil }

    /// The failure class as `verify` prints it (`ok` when passed).
    public var status: String { error.map { VerificationSummary.label(for: $0.category) } ?? "ok" }
}

/// Counts of a verification run and the exit status it implies.
public struct VerificationSummary: Sendable, Equatable {
    public var total = 0
    public var passed = 0
    /// Failures per category.
    public var failures: [KeyFileError.Category: Int] = [:]
    /// The most severe failure category seen (by ``KeyFileError/Category/severity``).
    public var worst: KeyFileError.Category?
    /// Whether headers were authenticated (a password was used).
    public var authenticated: Bool

    public init(authenticated: Bool) { self.authenticated = authenticated }

    public var failed: Int { total - passed }

    public mutating func add(_ result: VerificationResult) {
        total += 1
        guard let error = result.error else { passed += 1; return }
        failures[error.category, default: 0] += 1
        if worst.map({ error.category.severity > $0.severity }) ?? true { worst = error.category }
    }

    /// The short name of a failure class used in result lines and JSON.
    public static func label(for category: KeyFileError.Category) -> String {
        switch category {
        case .corrupted: return "corrupted"
        case .wrongCredentials: return "wrong-credentials"
        case .tampered: return "tampered"
        case .unsupported: return "unsupported"
        case .parametersOutOfBounds: return "out-of-bounds"
        case .io: return "unreadable"
        case .invalidInput: return "invalid"
        case .cryptoFailure: return "crypto-failure"
        }
    }
}
