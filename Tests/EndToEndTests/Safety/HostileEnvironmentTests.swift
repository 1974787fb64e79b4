import Foundation
import Testing

/// A hostile or careless process environment (issue 17): closed standard descriptors, a reader
/// that goes away, Ctrl-C at a prompt, secrets typed on a terminal, file names that are not UTF-8.
/// Each test runs the built binaries the way a shell would start them.
@Suite(.serialized) struct HostileEnvironmentTests {
    static let dialog = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Support/pty_dialog.py").path

    /// Runs `script` with bash; `$0` is the tool's path, `$1...` the arguments.
    private func bash(_ script: String, tool: String, _ arguments: [String], stdin: String? = nil) throws -> ToolRunner.Result {
        try ToolRunner.run("/bin/bash", ["-c", script, ToolRunner.path(of: tool)] + arguments, stdin: stdin)
    }

    // MARK: closed descriptors

    @Test func secretSetWithStandardInputClosedSaysThereIsNoValue() throws {
        let deployment = try DeploymentFixture()
        // Before: SIGILL from a `try!` in FileHandle.readDataToEndOfFile (status 132 in bash).
        let result = try bash(#""$0" "$@" 0<&-"#, tool: "miisserver",
                              ["secret", "set", "ldap", "--install-dir", deployment.installDirectory("sync1"),
                               "--password-file", deployment.passwordFile])
        #expect(result.status == 16, "\(result.stderr)")
        #expect(result.stderr == "miisserver: no secret value on standard input\n")
        #expect(try deployment.miisserver("sync1", ["secret", "list"]).stdout == "No secrets.\n")
    }

    @Test func activationWithStandardErrorClosedSucceeds() throws {
        let deployment = try DeploymentFixture()
        // The local admin group makes the success path print a warning on stderr: before, that
        // write died with SIGILL after the activation had committed.
        let result = try bash(#""$0" "$@" 2>&-"#, tool: "miisactivate",
                              [deployment.backup, DeploymentFixture.account, "*", "/q", "--allow-weak-kdf",
                               "--install-dir", deployment.installDirectory("sync2")],
                              stdin: DeploymentFixture.password + "\n")
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.hasPrefix("Activated sync2 as the primary server.\n"))
        #expect(try deployment.deploymentState().epoch == 2)
    }

    // MARK: a preloaded library

    /// libfaketime calls `setenv` in its constructor, before the Swift runtime's: the runtime,
    /// which finds `argv` from `environ`, then saw no arguments (swiftlang/swift#76080). Before,
    /// every tool crashed with a stack trace (Range requires lowerBound <= upperBound, status 132);
    /// now they read the kernel's copy of the command line, and miisactivate is still itself.
    @Test func aPreloadedLibraryThatCallsSetenvKeepsTheCommandLine() throws {
        guard let clock = FakeClock.environment(offset: 3600) else { return }
        let version = try ToolRunner.run("keytool", ["--version"], environment: clock)
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout == (try ToolRunner.run("keytool", ["--version"]).stdout), "\(version.stdout)")
        #expect(version.stderr == "")
        let unknown = try ToolRunner.run("miisserver", ["no-such-command"], environment: clock)
        #expect(unknown.status == 64, "\(unknown.stderr)")
        #expect(unknown.stderr.hasPrefix("miisserver: unknown command 'no-such-command'"), "\(unknown.stderr)")
        // The multi-call binary still knows the name it was started as.
        let help = try ToolRunner.run("miisactivate", ["/?"], environment: clock)
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.hasPrefix("Activates a standby server"), "\(help.stdout)")
    }

    // MARK: a reader that goes away

    /// `TOOL ... | true` where `true` has exited before the tool writes: the tool must end like any
    /// filter, killed by SIGPIPE (bash: 141), silently. `trap '' PIPE` makes the tool inherit an
    /// ignored SIGPIPE, as it has under the PostgreSQL client (SwiftNIO ignores it process-wide).
    private func brokenPipe(_ tool: String, _ arguments: [String], ignoreSIGPIPE: Bool) throws -> ToolRunner.Result {
        let trap = ignoreSIGPIPE ? "trap '' PIPE; " : ""
        // The tool starts 0.3 s late, so the reader has closed its end before the first write.
        return try bash(trap + #"{ sleep 0.3; exec "$0" "$@"; } | (exec 0<&-; sleep 1); echo "status=${PIPESTATUS[0]}""#, tool: tool, arguments)
    }

    @Test func keytoolVerifyIntoAClosedPipeEndsQuietlyWith141() throws {
        let fixture = try KeytoolFixture()
        for index in 0..<20 { try fixture.writeFile("k\(index).bin") }
        for ignored in [false, true] {
            // Before, with SIGPIPE inherited as ignored: every write failed silently and the status was 0.
            let result = try brokenPipe("keytool", ["verify", "--allow-weak-kdf", "-r", fixture.directory.path], ignoreSIGPIPE: ignored)
            #expect(result.stdout == "status=141\n", "ignored=\(ignored): \(result.stderr)")
            #expect(result.stderr == "", "ignored=\(ignored)")
        }
    }

    @Test func miisserverJSONIntoAClosedPipeEndsQuietlyWith141() throws {
        let deployment = try DeploymentFixture()
        for ignored in [false, true] {
            // Before, with SIGPIPE ignored: SIGILL from FileHandle.write (status 132) and a crash report.
            let result = try brokenPipe("miisserver", ["status", "--json", "--install-dir", deployment.installDirectory("sync1")],
                                        ignoreSIGPIPE: ignored)
            #expect(result.stdout == "status=141\n", "ignored=\(ignored): \(result.stderr)")
            #expect(result.stderr == "", "ignored=\(ignored)")
        }
    }

    // MARK: terminals

    /// Starts `command` on a fresh pseudo-terminal, waits for `prompt`, checks echo is off, types
    /// Ctrl-C, and reports the terminal's ECHO flag after the process ended and how it ended.
    private static let interruptScript = #"""
    import os, select, signal, sys, termios, time
    prompt, command = sys.argv[1].encode(), sys.argv[2:]
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.login_tty(slave)
        # The test process blocks SIGINT and SIGTERM and its children inherit the mask; a login
        # shell starts programs with none blocked.
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        os.execv(command[0], command)
    output, deadline = b"", time.monotonic() + 60
    while prompt not in output and time.monotonic() < deadline:
        if select.select([master], [], [], 0.05)[0]:
            output += os.read(master, 4096)
    time.sleep(0.3)  # the prompt is written just before echo is turned off
    silent = not termios.tcgetattr(slave)[3] & termios.ECHO
    os.write(master, b"\x03")
    for _ in range(200):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done: break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        print("still running 10 s after Ctrl-C")
    restored = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
    print(f"prompted={prompt in output} silent={silent} restored={restored} exit={os.waitstatus_to_exitcode(status)}")
    """#

    @Test func ctrlCAtAPasswordPromptRestoresEchoAndEndsWithSIGINT() throws {
        let fixture = try KeytoolFixture()
        let file = try fixture.writeFile("k.bin").path
        let result = try ToolRunner.run("/usr/bin/python3", ["-c", Self.interruptScript, "Password for",
                                                            ToolRunner.path(of: "keytool"), "verify", "--account", KeytoolFixture.account,
                                                            "--allow-weak-kdf", file])
        // Killed by SIGINT (-2 in Python, 130 in a shell), with the terminal's echo back on.
        // Before: echo stayed off after the process died (restored=False).
        #expect(result.stdout == "prompted=True silent=True restored=True exit=-2\n", "\(result.stderr)")
    }

    @Test func aSecretTypedOnATerminalIsNotEchoedAndIsAskedTwice() throws {
        let deployment = try DeploymentFixture()
        let typed = "typed-on-the-terminal-s3cret"
        let result = try ToolRunner.run("/usr/bin/python3", [Self.dialog, "60", "Secret value:", typed, "Repeat the secret value:", typed,
                                                            "Password for", DeploymentFixture.password, "--",
                                                            ToolRunner.path(of: "miisserver"), "secret", "set", "ldap", "--allow-weak-kdf",
                                                            "--install-dir", deployment.installDirectory("sync1")])
        // Before: no prompt at all, the value was read with echo on until end of file (timeout, 124).
        #expect(result.status == 0, "\(result.stdout)")
        #expect(result.stdout.contains("Stored secret 'ldap'"))
        #expect(!result.stdout.contains(typed))
        #expect(try deployment.miisserver("sync1", ["secret", "list"]).stdout.hasPrefix("ldap  "))
    }

    @Test func twoDifferentSecretValuesOnATerminalAreRefused() throws {
        let deployment = try DeploymentFixture()
        let result = try ToolRunner.run("/usr/bin/python3", [Self.dialog, "60", "Secret value:", "one", "Repeat the secret value:", "two", "--",
                                                            ToolRunner.path(of: "miisserver"), "secret", "set", "ldap",
                                                            "--install-dir", deployment.installDirectory("sync1")])
        #expect(result.status == 16, "\(result.stdout)")
        #expect(result.stdout.contains("miisserver: the two secret values differ"))
    }

    // MARK: file names that are not UTF-8

    @Test func fileNamesThatAreNotUTF8AreVerifiedAndPrintedEscaped() throws {
        let fixture = try KeytoolFixture()
        let file = try fixture.writeFile("k.bin").path
        let script = #"""
        cd "$1" && mkdir d && cp k.bin "$(printf '\377.bin')" && cp k.bin "d/$(printf 'caf\351.bin')" &&
        "$0" verify --allow-weak-kdf "$(printf '\377.bin')" && "$0" verify --allow-weak-kdf -r d &&
        "$0" verify --allow-weak-kdf --json "$(printf '\377.bin')"
        """#
        // Before: the name became U+FFFD and every line said "unreadable ... No such file or directory" (exit 15).
        let result = try bash(script, tool: "keytool", [fixture.directory.path])
        _ = file
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count >= 4)
        #expect(lines.first == "ok                \\xff.bin")
        #expect(lines.dropFirst(2).first == "ok                d/caf\\xe9.bin")
        let json = lines.dropFirst(4).joined(separator: "\n")
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let results = object?["results"] as? [[String: Any]]
        #expect(results?.first?["path"] as? String == "\\xff.bin")
    }
}
