#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal and answers its prompts, as a person at a terminal would.

Usage: pty_dialog.py TIMEOUT [--run-at PROMPT SHELL-COMMAND] PROMPT ANSWER [PROMPT ANSWER ...] -- COMMAND [ARGS...]
Each ANSWER is typed (followed by Enter) once PROMPT has appeared in the output written since the
previous answer. With --run-at, SHELL-COMMAND runs to its end (sh -c) when PROMPT has appeared and
before its answer is typed: something that happens while a person reads the prompt. Prints everything the program wrote to the terminal and exits with its exit
status (124 on timeout).
"""
import os
import pty
import select
import sys
import time


def main():
    timeout = float(sys.argv[1])
    separator = sys.argv.index("--")
    pairs = sys.argv[2:separator]
    run_at = {}
    while pairs and pairs[0] == "--run-at":
        run_at[pairs[1]] = pairs[2]
        pairs = pairs[3:]
    command = sys.argv[separator + 1:]
    dialog = list(zip(pairs[0::2], pairs[1::2]))
    pid, terminal = pty.fork()
    if pid == 0:
        os.execv(command[0], command)
    output = b""
    searched_from = 0
    deadline = time.monotonic() + timeout
    while True:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.stdout.write(output.decode(errors="replace"))
            sys.exit(124)
        ready, _, _ = select.select([terminal], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: the program closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if dialog and dialog[0][0].encode() in output[searched_from:]:
            if dialog[0][0] in run_at:
                import subprocess
                subprocess.run(["/bin/sh", "-c", run_at.pop(dialog[0][0])], check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.1)  # let the program finish turning echo off before typing
            os.write(terminal, dialog.pop(0)[1].encode() + b"\r")
            searched_from = len(output)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(output.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
