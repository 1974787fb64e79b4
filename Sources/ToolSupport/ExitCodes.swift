import ErrorReporting

/// The exit statuses shared by the three tools, as printed in their help and the README: the one
/// table that maps the libraries' error classes (``ReportableError/errorClass``) to statuses.
///
/// The libraries carry no statuses; a class missing here would exit 1, which the suite's
/// exit-code tests refuse for every class the libraries define.
package enum ExitCodes {
    package static let success: Int32 = 0
    /// An error no library classified: a defect, reported as one line all the same.
    package static let internalError: Int32 = 1
    package static let usage: Int32 = 64
    /// `keytool audit`: a finding at or above `--fail-on`.
    package static let auditFindings: Int32 = 40
    /// `keytool diff`: the two files do not hold the same key set.
    package static let keySetsDiffer: Int32 = 41

    /// One row per error class: the class name the libraries use, its status and its meaning.
    /// 10-17 are the key file's (`KeyFileError.Category`), 20-39 the deployment's (`DeploymentError.Kind`).
    static let classes: [(errorClass: String, status: Int32, meaning: String)] = [
        ("corrupted", 10, "key file corrupted: bad magic, truncated, checksum mismatch, malformed"),
        ("wrongCredentials", 11, "wrong password or account (the file itself is intact)"),
        ("tampered", 12, "key file tampered with: header MAC holds but the payload does not"),
        ("unsupported", 13, "unsupported format version or feature"),
        ("parametersOutOfBounds", 14, "KDF parameters below the floor (weak) or above the ceiling"),
        ("io", 15, "file unreadable or unwritable (missing, permissions, not a regular file)"),
        ("invalidInput", 16, "invalid input (account, password, key count, ...)"),
        ("cryptoFailure", 17, "OpenSSL failure"),
        ("notAdministrator", 20, "not running as root (Local Administrator privileges are required)"),
        ("installation", 21, "installation missing or invalid"),
        ("notRegistered", 22, "server not registered in the deployment, or no deployment"),
        ("schemaMismatch", 23, "Exception: 0x80230443, software version and database schema differ"),
        ("passwordSyncTarget", 24, "password synchronization is directed to another server"),
        ("keySetMismatch", 25, "key file is not the deployment's current key set, or its keys fail the database"),
        ("primaryAlive", 26, "the current primary is still alive (heartbeat within the lease)"),
        ("conflict", 27, "another server became active first"),
        ("fenced", 28, "this server is fenced (its epoch is older than the database's) or not active"),
        ("database", 29, "database unreachable, foreign or failing"),
        ("invalidRequest", 30, "invalid request (second primary, unknown server, account mismatch)"),
        ("unsafePermissions", 31, "files writable by group or others, owned by another user, or symlinked"),
        ("cancelled", 32, "cancelled by the user, or quiet mode lacked an answer"),
    ]

    /// The status of an error class, or `nil` for a class this table does not know.
    package static func status(forClass errorClass: String) -> Int32? {
        classes.first { $0.errorClass == errorClass }?.status
    }

    /// The status a tool exits with for `error`: its class's, else ``internalError``.
    package static func status(for error: any ReportableError) -> Int32 {
        status(forClass: error.errorClass) ?? internalError
    }

    /// One `  CODE  meaning` line per status, for help texts (computed only when help is shown).
    package static var table: String {
        var rows: [(Int32, String)] = [
            (success, "success (for miisactivate also: already active, or a dry run whose checks all passed)"),
            (internalError, "unexpected internal error"),
        ]
        rows += classes.map { ($0.status, $0.meaning) }
        rows.append((auditFindings, "keytool audit: a finding at or above the --fail-on severity"))
        rows.append((keySetsDiffer, "keytool diff: the two files do not hold the same key set"))
        rows.append((usage, "usage error (bad arguments, refused cleartext output)"))
        return rows.map { code, meaning in
            let number = String(code)
            return "  " + number + String(repeating: " ", count: max(1, 4 - number.count)) + meaning
        }.joined(separator: "\n")
    }
}
