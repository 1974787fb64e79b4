import ErrorReporting
import Foundation
import KeyFile
#if canImport(Glibc)
import Glibc
#endif

/// One file of a backup folder, judged for an activation: "which backup do I activate with?".
public struct BackupCandidate: Sendable, Equatable, Encodable {
    /// Why a file is, or is not, the one to activate with.
    public enum Verdict: String, Codable, Sendable {
        /// The newest file that holds the deployment's current key set and opens with the credentials.
        case chosen
        /// Holds the current key set (by its header) but is older than the chosen file; not opened.
        case older
        /// Intact, but another key set (key-set ID or fingerprint) than the deployment's current one.
        case staleKeySet
        /// Intact and of the current key set, but the credentials do not open it (another password
        /// or account: older than the chosen file's, or newer).
        case wrongCredentials
        /// A key file that is corrupted, tampered with, of an unsupported version or outside the KDF bounds.
        case damaged
        /// Not a key file at all (wrong magic bytes, too large).
        case notAKeyFile
        /// Cannot be read (permissions, not a regular file).
        case unreadable
    }

    public let path: String
    /// The header's creation time (seconds since the Unix epoch), when the header could be read.
    public let createdAt: Int64?
    public let keySetID: UUID?
    public var verdict: Verdict
    /// One line: what was found, or why the file is not the one.
    public var reason: String
    /// The failure behind a verdict other than `chosen`/`older` (its class is the exit status).
    public var failure: (any ReportableError)? { failureBox?.error }
    var failureBox: FailureBox?
    /// The parsed header (not authenticated), when the file is intact.
    var header: KeyFileHeader?

    struct FailureBox: Sendable, Equatable {
        let error: any ReportableError
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.error.errorCode == rhs.error.errorCode && lhs.error.message == rhs.error.message }
    }

    enum CodingKeys: String, CodingKey { case path, createdAt, keySetID, verdict, reason, errorCode }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encodeIfPresent(createdAt.map { Date(timeIntervalSince1970: TimeInterval($0)) }, forKey: .createdAt)
        try container.encodeIfPresent(keySetID?.lowercasedString, forKey: .keySetID)
        try container.encode(verdict, forKey: .verdict)
        try container.encode(reason, forKey: .reason)
        try container.encodeIfPresent(failure?.errorCode, forKey: .errorCode)
    }

    /// Newest first: by the header's creation time, then by name (`miiskeys-10.bin` after
    /// `miiskeys-9.bin`); files without a readable header last.
    static func isNewer(_ a: BackupCandidate, than b: BackupCandidate) -> Bool {
        switch (a.createdAt, b.createdAt) {
        case let (x?, y?) where x != y: return x > y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return BackupChoice.isLaterName(a.path, than: b.path)
        }
    }
}

/// The answer to "which backup do I activate with?" for a folder: every file in it, newest first,
/// with the chosen one (if any) and why each other one is not it.
public struct BackupChoice: Sendable, Equatable, Encodable {
    public let directory: String
    /// Every file directly in the folder, newest first.
    public let candidates: [BackupCandidate]

    public var chosen: BackupCandidate? { candidates.first { $0.verdict == .chosen } }

    /// When nothing is chosen: the failure of the candidate that got furthest (credentials over
    /// stale key set over damage over not a key file over unreadable; the newest among equals).
    public var bestFailure: (any ReportableError)? {
        guard chosen == nil else { return nil }
        let rank: [BackupCandidate.Verdict] = [.wrongCredentials, .staleKeySet, .damaged, .notAKeyFile, .unreadable]
        for verdict in rank {
            if let candidate = candidates.first(where: { $0.verdict == verdict }), let failure = candidate.failure {
                return ExplainedFailure(failure, explanation:
                    "no file in \(directory) holds the deployment's current key set and opens with these credentials (best candidate: \(candidate.path))",
                    remedy: .useCurrentBackup)
            }
        }
        return KeyFileError.io("empty", path: directory, "holds no files to activate with")
    }

    enum CodingKeys: String, CodingKey { case directory, chosen, candidates }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(directory, forKey: .directory)
        try container.encodeIfPresent(chosen?.path, forKey: .chosen)
        try container.encode(candidates, forKey: .candidates)
    }

    /// Judges every file directly in `directory` (not recursive; temporary files of interrupted
    /// writes are skipped) against the deployment's `state`, newest first. Only files newer than
    /// the first usable one are opened with `credentials` (one KDF run each); older ones of the
    /// current key set are `older`, unopened.
    ///
    /// The files of `database` (``DeploymentStoreFactory/localFiles(for:)``) are never opened.
    public static func choose(in directory: String, state: DeploymentState, credentials: Credentials,
                              account: ServiceAccount, policy: KDFParameters.Policy, database: String) throws -> BackupChoice {
        let paths = KeyFilePathCollector.collect([directory], recursive: false)
        if paths.count == 1, let problem = paths[0].problem { throw problem }
        let avoid = FileIdentity.of(DeploymentStoreFactory.localFiles(for: database))
        var candidates = paths.map { header(of: $0, avoiding: avoid) }.sorted(by: BackupCandidate.isNewer)
        var found = false
        for index in candidates.indices where candidates[index].verdict == .chosen {
            if let header = candidates[index].header, let stale = staleness(of: header, in: state) {
                let error = DeploymentError(.keySetMismatch, stale, remedy: .useCurrentBackup)
                candidates[index].verdict = .staleKeySet
                candidates[index].reason = stale
                candidates[index].failureBox = .init(error: error)
                continue
            }
            if found {
                candidates[index].verdict = .older
                candidates[index].reason = "older than the chosen file (not opened)"
                continue
            }
            open(&candidates[index], state: state, credentials: credentials, account: account, policy: policy)
            found = candidates[index].verdict == .chosen
        }
        return BackupChoice(directory: directory, candidates: candidates)
    }

    /// The warnings for activating with `path` (chosen in its folder or given): a newer file of
    /// the current key set in the same folder that these credentials do not open means the file is
    /// sealed with an older password than the newer backup (the service account's password
    /// changed since), so the installed copy must be re-protected before the next
    /// `backup`; a newer one that opens means a newer backup was passed over.
    public static func warnings(activatingWith path: String, state: DeploymentState, credentials: Credentials,
                                account: ServiceAccount, policy: KDFParameters.Policy, installedKeyFile: String,
                                database: String) -> [DeploymentWarning] {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let paths = KeyFilePathCollector.collect([directory], recursive: false)
        let avoid = FileIdentity.of(DeploymentStoreFactory.localFiles(for: database))
        let all = paths.map { header(of: $0, avoiding: avoid) }
        guard let this = all.first(where: { sameFile($0.path, path) }) ?? Optional(header(of: CollectedPath(path: path), avoiding: avoid)) else { return [] }
        var warnings: [DeploymentWarning] = []
        var newer = all.filter { !sameFile($0.path, path) && $0.verdict == .chosen && BackupCandidate.isNewer($0, than: this) }
        newer.sort(by: BackupCandidate.isNewer)
        for index in newer.indices {
            open(&newer[index], state: state, credentials: credentials, account: account, policy: policy)
            let candidate = newer[index]
            if candidate.verdict == .wrongCredentials {
                warnings.append(DeploymentWarning(
                    "\(path) is sealed with an older password than the newer backup \(candidate.path), which holds the same key set but does not open with these credentials; the installed key set now opens only with the password you gave",
                    remedy: .reprotectInstalledKeySet(path: installedKeyFile, account: account.description)))
                break
            }
            if candidate.verdict == .chosen {
                warnings.append(DeploymentWarning(
                    "\(path) is older than \(candidate.path) in the same folder, which also holds the current key set and opens with these credentials",
                    remedy: .activateWithNewestBackup(directory: directory)))
                break
            }
        }
        return warnings
    }

    // MARK: - Judging one file

    /// The checks that need no password: readable, intact, of the current key-set ID. A file that
    /// passes them keeps the provisional verdict `chosen` until ``open`` decides.
    static func header(of collected: CollectedPath, avoiding avoid: Set<FileIdentity>) -> BackupCandidate {
        func candidate(_ verdict: BackupCandidate.Verdict, _ error: any ReportableError, header: KeyFileHeader? = nil) -> BackupCandidate {
            BackupCandidate(path: collected.path, createdAt: header?.createdAt, keySetID: header?.keySetID,
                            verdict: verdict, reason: error.message, failureBox: .init(error: error))
        }
        if let problem = collected.problem { return candidate(.unreadable, problem) }
        if let identity = FileIdentity(collected.path), avoid.contains(identity) {
            return candidate(.notAKeyFile, KeyFileError(.corrupted, code: "magic", "a file of the deployment's own database, not a key file (not opened)"))
        }
        let sealed: SealedKeyFile
        do {
            sealed = try SealedKeyFile(bytes: SecureFile.read(collected.path))
        } catch let error as KeyFileError {
            switch error.category {
            case .io: return candidate(.unreadable, error)
            case .corrupted where error.code.rawValue == "corrupted.magic" || error.code.rawValue == "corrupted.size":
                return candidate(.notAKeyFile, error)
            default: return candidate(.damaged, error)
            }
        } catch {
            return candidate(.unreadable, KeyFileError.io("read", path: collected.path, "\(error)"))
        }
        return BackupCandidate(path: collected.path, createdAt: sealed.header.createdAt, keySetID: sealed.header.keySetID,
                               verdict: .chosen, reason: "", failureBox: nil, header: sealed.header)
    }

    /// Whether `header` names the deployment's current key set, judged without the password:
    /// the key-set ID, then the key-set generation (a pre-rotation backup of the same key set is
    /// stale, naming both generations). The one place where a header-level comparison goes; the fingerprint needs the
    /// keys and is compared after opening, by ``StoreRules/requireCurrentKeySet``.
    static func staleness(of header: KeyFileHeader, in state: DeploymentState) -> String? {
        guard header.keySetID == state.keySetID else {
            return "holds key set \(header.keySetID.lowercasedString), not the deployment's current key set \(state.keySetID.lowercasedString)"
        }
        return StoreRules.generationMismatch(header.generation, of: state).map { "key set \(header.keySetID.lowercasedString) \($0)" }
    }

    /// Opens a provisionally `chosen` candidate; on any failure it gets the verdict that failure means.
    static func open(_ candidate: inout BackupCandidate, state: DeploymentState, credentials: Credentials,
                     account: ServiceAccount, policy: KDFParameters.Policy) {
        func fail(_ verdict: BackupCandidate.Verdict, _ error: any ReportableError) {
            candidate.verdict = verdict
            candidate.reason = error.message
            candidate.failureBox = .init(error: error)
        }
        do {
            let sealed = try SealedKeyFile(bytes: SecureFile.read(candidate.path))
            if let stale = staleness(of: sealed.header, in: state) {
                return fail(.staleKeySet, DeploymentError(.keySetMismatch, stale, remedy: .useCurrentBackup))
            }
            guard sealed.header.account == account else {
                return fail(.wrongCredentials, DeploymentError(.invalidRequest,
                    "bound to account '\(sealed.header.account)' but this server's service account is '\(account)'", remedy: .repairAccount))
            }
            let file = try sealed.open(with: credentials, policy: policy)
            try StoreRules.requireCurrentKeySet(file.keySet, of: state, "the file's key set", remedy: .useCurrentBackup)
            candidate.verdict = .chosen
            candidate.reason = "the newest file of the current key set that opens with these credentials"
        } catch let error as KeyFileError {
            switch error.category {
            case .wrongCredentials: fail(.wrongCredentials, error)
            case .io: fail(.unreadable, error)
            default: fail(.damaged, error)
            }
        } catch let error as DeploymentError where error.kind == .keySetMismatch {
            fail(.staleKeySet, error)
        } catch let error as any ReportableError {
            fail(.damaged, error)
        } catch {
            fail(.damaged, KeyFileError.invalidInput("open", "\(error)"))
        }
    }

    // MARK: - Names

    /// `a` sorts after `b` comparing runs of digits by value (`miiskeys-10.bin` after `miiskeys-9.bin`).
    static func isLaterName(_ a: String, than b: String) -> Bool {
        if let x = KeyBackup.backupNumber((a as NSString).lastPathComponent),
           let y = KeyBackup.backupNumber((b as NSString).lastPathComponent), x != y {
            return x > y
        }
        return a > b
    }

    /// Device and inode: the same file under any name, found without opening it.
    struct FileIdentity: Hashable {
        let device: UInt64
        let inode: UInt64

        init?(_ path: String) {
            var status = stat()
            guard FileSystemPath.withCString(path, { stat($0, &status) }) == 0 else { return nil }
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
        }

        static func of(_ paths: [String]) -> Set<FileIdentity> { Set(paths.compactMap(FileIdentity.init)) }
    }

    static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        guard stat(a, &x) == 0, stat(b, &y) == 0 else { return a == b }
        return x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }
}
