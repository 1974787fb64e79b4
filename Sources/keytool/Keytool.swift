import ArgumentParser

/// The root command. To add a subcommand (e.g. `backup`), write `Commands/<Name>Command.swift`
/// and append its type to `subcommands` below.
struct Keytool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keytool",
        abstract: "Inspect, verify, create, re-protect, export, audit and compare encryption key files.",
        discussion: """
        Passwords are never taken as argument values: keytool prompts on the terminal with echo \
        off, or reads the first line of --password-file FILE or of standard input \
        (--password-stdin). --json prints a versioned report (schemaVersion 1) on stdout; \
        diagnostics go to stderr. No command prints a password or key material, except \
        export-keys, deliberately and only when asked explicitly.

        EXIT STATUS
          0   success (verify: every file passed; diff: same key set;
              audit: no finding at or above --fail-on)
          1   unexpected internal error
          10  corrupted: not a key file, truncated, checksum mismatch, malformed
          11  wrong credentials: the password or account does not open the file
          12  tampered: the payload fails authentication although the header MAC holds
          13  unsupported: a newer format version, cipher or KDF
          14  KDF parameters out of bounds: below the floor (use --allow-weak-kdf)
              or above the resource ceiling
          15  unreadable: missing file, permissions, not a regular file, I/O error
          16  invalid input: bad account name, empty password, passwords differ
          17  cryptographic failure inside OpenSSL
          20  audit: a finding at or above the --fail-on severity
          21  diff: the two files do not hold the same key set
          64  usage error (bad or missing options, refused cleartext output)
        verify exits with the code of the most severe failure class among its files:
        tampered > corrupted > wrong credentials > crypto > out of bounds
        > unsupported > unreadable > invalid.
        """,
        version: "1.0.0",
        subcommands: [
            InspectCommand.self,
            VerifyCommand.self,
            ListCommand.self,
            CreateCommand.self,
            PasswdCommand.self,
            ExportKeysCommand.self,
            AuditCommand.self,
            DiffCommand.self,
        ]
    )
}
