import ArgumentParser
import Deployment
import KeyFile
import ToolSupport

/// `miisserver keys`: the key set's life (the original product's key-management utility).
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Rotate, retire, disable, purge, list or abandon the deployment's keys.",
        discussion: """
            Every change but list is made on the active server (abandon: on the server to become active), \
            is one compare-and-set on the deployment's epoch and key-set generation, advances the generation \
            and is recorded in the key set's history (miisserver history --keys) and the log. Every older \
            backup is then stale: take a new backup (miisserver backup).
            """,
        subcommands: [KeysListCommand.self, KeysRotateCommand.self, KeysRetireCommand.self, KeysDisableCommand.self,
                      KeysPurgeCommand.self, KeysAbandonCommand.self])
}

/// The `--json` document of every key-set change (schema version 1).
struct KeysChangeReport: Codable {
    var schemaVersion = 1
    var outcome: KeyLifecycle.Outcome
}

/// Prints a change's outcome, then the warning every change ends with: older backups are stale.
func printKeysOutcome(_ outcome: KeyLifecycle.Outcome, json: Bool, summary: String) throws {
    if json {
        try JSONOutput.print(KeysChangeReport(outcome: outcome))
    } else {
        printLine(outcome.resumed
            ? "Finished an interrupted key-set change (\(outcome.reason.rawValue), committed before this run): its key file is now installed."
            : summary)
        printLine("Key set \(outcome.keySetID.lowercasedString) is now generation \(outcome.generation) (was \(outcome.previousGeneration)), fingerprint \(outcome.fingerprint).")
        printKeyTable(outcome.keys)
    }
    printWarning("every backup of generation \(outcome.previousGeneration) or older is now stale: take a new backup now (miisserver backup)")
}

func printKeyTable(_ keys: [KeyLifecycle.KeyRecord]) {
    let rows = [["ID", "STATUS", "PRIMARY", "SECRETS", "CHECK VALUE"]] + keys.map {
        ["\($0.id)", $0.status.description, $0.primary ? "yes" : "no", "\($0.secrets)", $0.checkValue]
    }
    TextTable.lines(rows, indent: "  ").forEach(printLine)
}

struct KeysListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the deployment's keys: status, primary, secrets under each (no password).")

    @OptionGroup var installation: InstallationOptions

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    struct Listing: Codable {
        var schemaVersion = 1
        var keySetID: String
        var generation: Int64
        var fingerprint: String
        var keys: [KeyLifecycle.KeyRecord]
    }

    func run() async throws {
        let installation = try installation.locate()
        let deployment = try await DeploymentAdministration.deployment(installation)
        let keys = try await KeyLifecycle.keys(installation)
        if json {
            return try JSONOutput.print(Listing(keySetID: deployment.keySetID.lowercasedString, generation: deployment.keySetGeneration,
                                                fingerprint: deployment.keySetFingerprint, keys: keys))
        }
        printLine("Key set \(deployment.keySetID.lowercasedString) generation \(deployment.keySetGeneration), fingerprint \(deployment.keySetFingerprint)")
        printKeyTable(keys)
    }
}

struct KeysRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Add a fresh primary key, retire the old one, re-encrypt every secret (on the active server).",
        discussion: """
            The new key file is staged durably in keys/ before the database switches, and installed as \
            keys/keyset.bin only after the switch committed; after a crash, running the command again finishes \
            or discards the staged change. Every older backup is then stale: take a new backup.
            """)

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var password: PasswordOptions
    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    func run() async throws {
        let installation = try installation.locate()
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let outcome = try await KeyLifecycle.rotate(installation, password: secret, policy: weak.policy)
        let primary = outcome.keys.first(where: \.primary).map { "\($0.id)" } ?? "?"
        try printKeysOutcome(outcome, json: json,
                             summary: "Rotated: key \(primary) is the new primary; \(outcome.reencryptedSecrets) secret(s) re-encrypted.")
    }
}

/// `keys retire ID` and `keys disable ID`.
struct KeyIDArgument: ParsableArguments {
    @Argument(help: "The key's ID (see miisserver keys list).")
    var id: UInt32
}

struct KeysRetireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "retire", abstract: "Retire key ID: it still decrypts, it no longer encrypts.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var key: KeyIDArgument
    @OptionGroup var password: PasswordOptions
    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    func run() async throws {
        let installation = try installation.locate()
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let outcome = try await KeyLifecycle.retire(installation, keyID: KeyID(rawValue: key.id), password: secret, policy: weak.policy)
        try printKeysOutcome(outcome, json: json, summary: "Retired key \(key.id).")
    }
}

struct KeysDisableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "disable", abstract: "Disable key ID: it no longer decrypts (refused while a secret needs it).")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var key: KeyIDArgument
    @OptionGroup var password: PasswordOptions
    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    func run() async throws {
        let installation = try installation.locate()
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let outcome = try await KeyLifecycle.disable(installation, keyID: KeyID(rawValue: key.id), password: secret, policy: weak.policy)
        try printKeysOutcome(outcome, json: json, summary: "Disabled key \(key.id).")
    }
}

struct KeysPurgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Remove the retired and disabled keys no secret is encrypted under.")

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var password: PasswordOptions
    @OptionGroup var weak: WeakKDFOption

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1; outcome null when there was nothing to purge).")
    var json = false

    struct NothingReport: Codable {
        var schemaVersion = 1
        var outcome: KeyLifecycle.Outcome?
    }

    func run() async throws {
        let installation = try installation.locate()
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        guard let outcome = try await KeyLifecycle.purge(installation, password: secret, policy: weak.policy) else {
            if json { return try JSONOutput.print(NothingReport(outcome: nil)) }
            return printLine("Nothing to purge: every retired or disabled key is still needed, or there is none.")
        }
        try printKeysOutcome(outcome, json: json, summary: "Purged the unused retired and disabled keys.")
    }
}

struct KeysAbandonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abandon",
        abstract: "Replace a key set whose every key file is lost, on the server to become active.",
        discussion: """
            Creates a new key set (new ID, generation + 1) sealed with the service account's password, installs it, \
            makes this server the active one (epoch + 1) and marks every secret as needing re-entry (kept; see \
            miisserver secret list, re-enter each with miisserver secret set NAME). Refused while the current \
            primary is alive (its heartbeat within the lease, as miisactivate judges it) and on a server that \
            holds the current key set. Needs --force and a --reason, which is logged.
            """)

    @OptionGroup var installation: InstallationOptions
    @OptionGroup var password: PasswordOptions
    @OptionGroup var kdf: KDFOptions

    @Flag(name: .customLong("force"), help: "Confirm that every key file of the current key set is lost.")
    var force = false

    @Option(name: .customLong("reason"), help: ArgumentHelp("Why the key set is abandoned (logged).", valueName: "text"))
    var reason: String?

    @Flag(name: .customLong("json"), help: "Print JSON (schemaVersion 1).")
    var json = false

    func validate() throws {
        guard force, let reason, !reason.isEmpty else {
            throw ValidationError("abandoning the key set needs --force and --reason TEXT: the secrets it protects must then be entered again")
        }
    }

    func run() async throws {
        let installation = try installation.locate()
        let secret = try password.source.read(prompt: "Password for \(installation.configuration.serviceAccount): ")
        let outcome = try await KeyLifecycle.abandon(installation, reason: reason ?? "", password: secret,
                                                     kdf: kdf.parameters(), policy: kdf.policy)
        try printKeysOutcome(outcome, json: json,
                             summary: "Abandoned the lost key set; this server is active at epoch \(outcome.epoch) with the new key set. \(outcome.needsReentry.count) secret(s) need re-entry: \(outcome.needsReentry.isEmpty ? "none" : outcome.needsReentry.joined(separator: ", ")).")
        for name in outcome.needsReentry { printWarning("secret '\(name)' needs re-entry: miisserver secret set \(name)") }
    }
}
