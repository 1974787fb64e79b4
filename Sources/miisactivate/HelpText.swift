import ToolSupport

/// `miisactivate /?`: the reference page's shape (syntax, parameters, remarks, example) plus
/// the Linux options and exit codes.
enum HelpText {
    static let text = """
    Activates a standby server, making it the primary (active) server of the deployment.

    Syntax
      miisactivate [FileName] [UserName {Password | *}] [/q]
      miisactivate /?

    Parameters
      FileName    Specifies the file name, including the path, of the encryption key file.
                  A folder of backups instead: the newest file in it that holds the
                  deployment's current key set and opens with the credentials is used, and
                  the others are listed with the reason why not (see --dry-run).
      UserName    Specifies the service account credentials. miisactivate supports these formats:
                    [Domain\\]UserName
                    [\\]UserName
                  Names are compared case-insensitively; \\UserName and UserName are the same
                  local account.
      Password    Password for the service account. Specify * to be prompted for the password
                  (with echo off; when standard input is not a terminal, * reads it to its end:
                  \(PasswordSource.lineRule)).
                  A password typed on the command line works, but other local users can see it
                  in the process list: prefer * or --password-file.
      /q          Runs in quiet mode, with no prompts and no confirmation (also -q, --quiet).
                  Anything missing is then an error.
      /?          Displays help at the command prompt (also -h, --help).

    Linux options
      --install-dir DIR     The server installation, when miisactivate is not installed in its
                            Bin folder (that one comes first), else $MIIS_INSTALL_DIR.
      --password-file F     Read the password from F: one line, a final newline is removed;
                            more than one line is refused (exit 16).
      --dry-run             Run every check, change nothing: print each check as pass or
                            FAIL, then the plan (who is replaced, epoch N -> N+1, which key
                            file is installed). Exits with the status of the first failed
                            check. "Which backup do I activate with?":
                              miisactivate --dry-run /var/backups/miis 'CORP\\svc-sync' '*'
      --force --reason TEXT Take over although the current primary still sends heartbeats;
                            overrides only that check, and the reason is logged.
      --lease SECONDS       Treat the primary as alive for longer than the deployment's lease
                            (never shorter: the lease is set with miisserver lease).
      --allow-weak-kdf      Accept a key file whose KDF parameters are below the floor.
      --json                Print a machine-readable report on standard output.
      --verbose, -v         Log each check to standard error.
      --version             Print the toolkit's release and exit.
      --                    End of options (for a file literally named /q).

    Remarks
      * If password synchronization is enabled, you must direct it to this standby server
        before you activate it: miisserver password-sync --enable --target THIS-SERVER.
        Password synchronization resumes once it points at the new primary.
      * miisactivate is located in the InstallationDirectory/Bin folder.
      * Local Administrator privileges (root) are required to run miisactivate.
      * If you receive the error message Exception: 0x80230443, this indicates a schema
        mismatch. This can occur when an update (service pack) has been applied to the
        primary server but not to the warm standby server. Update the warm standby server
        with the same version as the primary server, and then run miisactivate again.
      * If the administrators' group (FIMSyncAdmin) was created as a local group instead of
        a directory (domain) group, administrators may be unable to manage the activated
        server. Create the directory group, then repair the installation:
        miisserver repair --admin-group GROUP.

    Checks, in order, before anything changes
      1 root  2 registered standby, not already active  3 schema  4 password-sync target
      5 key file intact, credentials, current key set, keys decrypt every secret
      6 current primary not alive (unless --force --reason)

    After activation
      The checklist is printed: start miis-sync.service and miis-heartbeat.timer here, stop
      them on the old primary, take a fresh backup (miisserver backup), copy it off this host.
      A file sealed with an older password than a newer backup in its folder, or older than a
      usable newer one, is used with a warning; the warning gives the keytool passwd command
      that re-protects the installed key set for the next miisserver backup.

    Example
      To activate a backup server and make it the primary server, type:
        miisactivate miis_keys.bin FIMSyncAdmin '*'

    Exit codes
    \(ExitCodes.table)
    """
}
