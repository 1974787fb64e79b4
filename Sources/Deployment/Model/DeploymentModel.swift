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
                leaseSeconds: TimeInterval = DeploymentState.defaultLeaseSeconds, activatedAt: Date? = nil) {
        self.activeServer = activeServer
        self.epoch = epoch
        self.keySetID = keySetID
        self.keySetFingerprint = keySetFingerprint
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

    public init(name: String, keyID: KeyID, nonce: [UInt8], ciphertext: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}

/// The published check value of one key of the deployment's key set.
public struct KeyCheckValue: Codable, Sendable, Equatable {
    public var keyID: KeyID
    public var checkValue: [UInt8]

    public init(keyID: KeyID, checkValue: [UInt8]) {
        self.keyID = keyID
        self.checkValue = checkValue
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
