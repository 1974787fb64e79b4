import Deployment
import KeyFile

/// The exit statuses shared by the three tools, as printed in their help and the README.
public enum ExitCodes {
    public static let usage: Int32 = 64
    /// `keytool audit`: a finding at or above `--fail-on`.
    public static let auditFindings: Int32 = 40
    /// `keytool diff`: the two files do not hold the same key set.
    public static let keySetsDiffer: Int32 = 41

    /// One `  CODE  meaning` line per status.
    public static let table: String = {
        var rows: [(Int32, String)] = [
            (0, "success (for miisactivate also: already active, or a dry run whose checks all passed)"),
            (1, "unexpected internal error"),
            (KeyFileError.Category.corrupted.exitCode, "key file corrupted: bad magic, truncated, checksum mismatch, malformed"),
            (KeyFileError.Category.wrongCredentials.exitCode, "wrong password or account (the file itself is intact)"),
            (KeyFileError.Category.tampered.exitCode, "key file tampered with: header MAC holds but the payload does not"),
            (KeyFileError.Category.unsupported.exitCode, "unsupported format version or feature"),
            (KeyFileError.Category.parametersOutOfBounds.exitCode, "KDF parameters below the floor (weak) or above the ceiling"),
            (KeyFileError.Category.io.exitCode, "file unreadable or unwritable (missing, permissions, not a regular file)"),
            (KeyFileError.Category.invalidInput.exitCode, "invalid input (account, password, key count, ...)"),
            (KeyFileError.Category.cryptoFailure.exitCode, "OpenSSL failure"),
        ]
        let deployment: [(DeploymentError.Kind, String)] = [
            (.notAdministrator, "not running as root (Local Administrator privileges are required)"),
            (.installation, "installation missing or invalid"),
            (.notRegistered, "server not registered in the deployment, or no deployment"),
            (.schemaMismatch, "Exception: 0x80230443, software version and database schema differ"),
            (.passwordSyncTarget, "password synchronization is directed to another server"),
            (.keySetMismatch, "key file is not the deployment's current key set, or its keys fail the database"),
            (.primaryAlive, "the current primary is still alive (heartbeat within the lease)"),
            (.conflict, "another server became active first"),
            (.fenced, "this server is fenced (its epoch is older than the database's) or not active"),
            (.database, "database unreachable, foreign or failing"),
            (.invalidRequest, "invalid request (second primary, unknown server, account mismatch)"),
            (.unsafePermissions, "files writable by group or others, owned by another user, or symlinked"),
            (.cancelled, "cancelled by the user, or quiet mode lacked an answer"),
        ]
        rows += deployment.map { ($0.0.exitCode, $0.1) }
        rows.append((auditFindings, "keytool audit: a finding at or above the --fail-on severity"))
        rows.append((keySetsDiffer, "keytool diff: the two files do not hold the same key set"))
        rows.append((usage, "usage error (bad arguments, refused cleartext output)"))
        return rows.map { "  \(String($0.0).padding(toLength: 4, withPad: " ", startingAt: 0))\($0.1)" }.joined(separator: "\n")
    }()
}
