import Foundation
import KeyFile

/// The role a server was registered with. The *active* server is decided by the deployment row,
/// not by this: a standby that is activated becomes the deployment's active server.
public enum ServerRole: String, Codable, Sendable, CaseIterable {
    case primary
    case standby
}

/// A server registered in the shared database.
public struct RegisteredServer: Codable, Sendable, Equatable {
    public var name: String
    public var softwareVersion: String
    public var role: ServerRole
    public var registeredAt: Date
    /// When the server last recorded a heartbeat (database clock), if ever.
    public var lastHeartbeat: Date?

    public init(name: String, softwareVersion: String, role: ServerRole, registeredAt: Date, lastHeartbeat: Date? = nil) {
        self.name = name
        self.softwareVersion = softwareVersion
        self.role = role
        self.registeredAt = registeredAt
        self.lastHeartbeat = lastHeartbeat
    }
}

/// The single deployment row: who is active, at which epoch, with which key set.
public struct DeploymentState: Codable, Sendable, Equatable {
    public var activeServer: String
    /// Incremented by exactly one on every activation; a server holding an older epoch is fenced.
    public var epoch: Int64
    public var keySetID: UUID
    public var keySetFingerprint: String
    /// The key set's generation (``KeySet/generation``): 1 at setup, one more after every key-set
    /// change (databases older than schema 4 are at 1).
    public var keySetGeneration: Int64
    public var passwordSyncEnabled: Bool
    public var passwordSyncTarget: String?
    /// When the row last changed for any reason (an activation, the password-sync target, the lease).
    public var updatedAt: Date
    /// How recent a heartbeat keeps the active server alive, in seconds (database clock). A
    /// deployment-wide setting: set at setup, changed only by a logged, fenced write.
    public var leaseSeconds: TimeInterval
    /// When the active server became active (its activation or the deployment's creation), by the
    /// database clock. Only activations set it; other writes that bump `updatedAt` do not.
    public var activatedAt: Date

    /// The lease of a deployment that did not choose one (and of databases older than schema 3).
    public static let defaultLeaseSeconds: TimeInterval = 30
    /// The range a deployment's lease may be set to.
    public static let leaseRange: ClosedRange<TimeInterval> = 0.5...86_400

    /// Seconds as text without a trailing ".0" for whole numbers (`30`, not `30.0`; `2.5` stays).
    public static func formatSeconds(_ seconds: TimeInterval) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int64(seconds)) : String(seconds)
    }

    public init(activeServer: String, epoch: Int64, keySetID: UUID, keySetFingerprint: String,
                passwordSyncEnabled: Bool = false, passwordSyncTarget: String? = nil, updatedAt: Date,
                leaseSeconds: TimeInterval = DeploymentState.defaultLeaseSeconds, activatedAt: Date? = nil,
                keySetGeneration: Int64 = 1) {
        self.activeServer = activeServer
        self.epoch = epoch
        self.keySetID = keySetID
        self.keySetFingerprint = keySetFingerprint
        self.keySetGeneration = keySetGeneration
        self.passwordSyncEnabled = passwordSyncEnabled
        self.passwordSyncTarget = passwordSyncTarget
        self.updatedAt = updatedAt
        self.leaseSeconds = leaseSeconds
        self.activatedAt = activatedAt ?? updatedAt
    }
}

/// Who makes a write: the server it is made from and the operating-system user behind it, as the
/// deployment's log records them.
public struct WriteOrigin: Sendable, Equatable {
    public var server: String
    /// The operating-system user, including who invoked sudo (see ``OperatorIdentity``).
    public var osUser: String

    public init(server: String, osUser: String) {
        self.server = server
        self.osUser = osUser
    }
}

/// A secret (such as a connector password) encrypted under one key of the key set.
public struct StoredSecret: Codable, Sendable, Equatable {
    public var name: String
    public var keyID: KeyID
    public var nonce: [UInt8]
    /// AES-256-GCM ciphertext followed by the tag.
    public var ciphertext: [UInt8]
    /// Set by `keys abandon` on a secret no key of the new key set can decrypt: kept (never
    /// dropped) until `secret set` enters its value again, which clears the mark.
    public var needsReentry: Bool

    public init(name: String, keyID: KeyID, nonce: [UInt8], ciphertext: [UInt8], needsReentry: Bool = false) {
        self.name = name
        self.keyID = keyID
        self.nonce = nonce
        self.ciphertext = ciphertext
        self.needsReentry = needsReentry
    }
}

/// The published check value of one key of the deployment's key set.
public struct KeyCheckValue: Codable, Sendable, Equatable {
    public var keyID: KeyID
    public var checkValue: [UInt8]
    /// The key's status in the deployment's key set (schema 4; `active` before).
    public var status: KeyStatus
    /// Whether the key is the key set's primary (schema 4; before it, the lowest key ID).
    public var isPrimary: Bool

    public init(keyID: KeyID, checkValue: [UInt8], status: KeyStatus = .active, isPrimary: Bool = false) {
        self.keyID = keyID
        self.checkValue = checkValue
        self.status = status
        self.isPrimary = isPrimary
    }
}

/// Why the key set changed, as its history records it.
public enum KeySetChangeReason: String, Codable, Sendable, CaseIterable {
    case setup
    case rotate
    case retire
    case disable
    case purge
    case abandon
}

/// One row of the key set's append-only history: which generation, with which ID and
/// fingerprint, created when, by whom and why.
public struct KeySetHistoryEntry: Codable, Sendable, Equatable {
    public var time: Date
    public var generation: Int64
    public var keySetID: UUID
    public var fingerprint: String
    public var server: String
    public var osUser: String
    public var reason: KeySetChangeReason
    /// What changed (the keys concerned, an abandon's reason). Never contains secrets.
    public var detail: String

    public init(time: Date, generation: Int64, keySetID: UUID, fingerprint: String, server: String, osUser: String,
                reason: KeySetChangeReason, detail: String) {
        self.time = time
        self.generation = generation
        self.keySetID = keySetID
        self.fingerprint = fingerprint
        self.server = server
        self.osUser = osUser
        self.reason = reason
        self.detail = detail
    }
}

/// A change of the deployment's key set, written by ``DeploymentStore/changeKeySet(_:origin:)`` in
/// one transaction: compare-and-set on the epoch and generation read, then the new row, check
/// values and re-encrypted secrets, the history row and the log row.
public struct KeySetChange: Sendable, Equatable {
    /// The epoch read; the writer must be the active server at it (a rotation, retire, disable,
    /// purge), or, for an abandon, the epoch the takeover moves from.
    public var expectedEpoch: Int64
    /// The generation read; the change applies only if the deployment still has it.
    public var expectedGeneration: Int64
    public var keySetID: UUID
    public var fingerprint: String
    /// The new generation: `expectedGeneration + 1`.
    public var generation: Int64
    /// The check values (with status and primary) of every key of the new key set.
    public var keys: [KeyCheckValue]
    /// Secrets re-encrypted under the new key set (each replaces the one of its name).
    public var reencrypted: [StoredSecret]
    /// Secrets no key of the new key set decrypts (an abandon): kept and marked as needing re-entry.
    public var needsReentry: [String]
    public var reason: KeySetChangeReason
    public var detail: String
    /// An abandon's takeover: refused while the active server is alive, by the lease as an
    /// activation judges it (this server then becomes the active one at epoch + 1).
    public var takeover: Bool { reason == .abandon }

    public init(expectedEpoch: Int64, expectedGeneration: Int64, keySet: KeySet, keys: [KeyCheckValue],
                reencrypted: [StoredSecret] = [], needsReentry: [String] = [], reason: KeySetChangeReason, detail: String) {
        self.expectedEpoch = expectedEpoch
        self.expectedGeneration = expectedGeneration
        self.keySetID = keySet.id
        self.fingerprint = keySet.fingerprint
        self.generation = Int64(keySet.generation)
        self.keys = keys
        self.reencrypted = reencrypted
        self.needsReentry = needsReentry
        self.reason = reason
        self.detail = detail
    }
}

/// One row of the append-only activation log.
public struct ActivationLogEntry: Codable, Sendable, Equatable {
    public enum Outcome: String, Codable, Sendable {
        case activated
        case refused
        case failed
        /// An administrative change (registration, password-sync target, lease, secret, setup).
        case changed
    }

    public var time: Date
    public var server: String
    public var previousServer: String?
    /// The epoch after a successful activation; the epoch read for refused attempts.
    public var epoch: Int64
    public var keySetID: UUID?
    public var osUser: String
    public var outcome: Outcome
    /// Why (refusal reason, forced-takeover reason) or what changed. Never contains secrets.
    public var detail: String
    /// Activations: the lease in force when the switch was decided, in seconds.
    public var leaseSeconds: Double?
    /// Activations: seconds since the previous active server's last heartbeat (database clock),
    /// `nil` if it never sent one.
    public var previousHeartbeatAgeSeconds: Double?
    /// Activations: whether a live primary was taken over with `--force`.
    public var forced: Bool
    /// Activations: the reason given with `--force`.
    public var forcedReason: String?

    public init(time: Date, server: String, previousServer: String?, epoch: Int64, keySetID: UUID?,
                osUser: String, outcome: Outcome, detail: String, leaseSeconds: Double? = nil,
                previousHeartbeatAgeSeconds: Double? = nil, forced: Bool = false, forcedReason: String? = nil) {
        self.time = time
        self.server = server
        self.previousServer = previousServer
        self.epoch = epoch
        self.keySetID = keySetID
        self.osUser = osUser
        self.outcome = outcome
        self.detail = detail
        self.leaseSeconds = leaseSeconds
        self.previousHeartbeatAgeSeconds = previousHeartbeatAgeSeconds
        self.forced = forced
        self.forcedReason = forcedReason
    }
}
