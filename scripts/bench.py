#!/usr/bin/env python3
"""Benchmarks: our tools side by side with OpenSSL's CLI and coreutils, in one run.

Each pair (ours, reference) runs alternately `--runs` times on the same machine; BENCHMARKS.md gets
medians, min/max, peak RSS and the ratio ours/reference of the medians, with the target each ratio
is held to. Usage: scripts/bench.py [--tiny] [--runs N] [--products DIR] [--baseline DIR] [--output FILE]
`--tiny` (what CI runs) shrinks every size so that the command is checked, not measured.
`--baseline DIR` holds older release binaries (keytool, miisactivate, miisserver): the targets table
then measures them in the same rounds as --products, so "today" and "now" share one machine state.
"""
import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PASSWORD = "bench-password-correct-horse"
ACCOUNT = "CORP\\svc-bench"


def measure(command, stdin_path=None, env=None):
    """Runs command; returns (seconds, peak RSS in KiB) from wait4, per child."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    start = time.perf_counter()
    process = subprocess.Popen(command, stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if stdin_path:
        stdin.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        err = process.stderr.read().decode(errors="replace")
        raise SystemExit(f"bench: {' '.join(command)} exited {code}: {err.strip()}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss


def compare(commands, runs, stdins=None):
    """One warm-up run of each command, then `runs` rounds in which each runs once, the order rotated
    every round so that no command always runs first. Returns [(times, peak RSS in KiB)] per command."""
    stdins = stdins or [None] * len(commands)
    for command, stdin in zip(commands, stdins):
        measure(command, stdin)
    results = [([], []) for _ in commands]
    for round_number in range(runs):
        shift = round_number % len(commands)
        for index in list(range(len(commands)))[shift:] + list(range(len(commands)))[:shift]:
            seconds, peak = measure(commands[index], stdins[index])
            results[index][0].append(seconds)
            results[index][1].append(peak)
    return results


def stripped_size(path):
    """Bytes of the binary after `strip` (what `make install` installs)."""
    with tempfile.TemporaryDirectory(prefix="miis-strip-") as directory:
        output = os.path.join(directory, "stripped")
        subprocess.run(["strip", "-o", output, path], check=True)
        return os.path.getsize(output)


def shell(command):
    return ["/bin/sh", "-c", command]


class Bench:
    def __init__(self, args):
        self.args = args
        self.tools = os.path.abspath(args.products)
        self.baseline = os.path.abspath(args.baseline) if args.baseline else None
        self.targets = []
        self.work = tempfile.mkdtemp(prefix="miis-bench-")
        self.rows = []
        self.scaling = []
        self.password_file = os.path.join(self.work, "password")
        with open(self.password_file, "w") as handle:
            handle.write(PASSWORD + "\n")
        os.chmod(self.password_file, 0o600)

    def tool(self, name, directory=None):
        return os.path.join(directory or self.tools, name)

    def keytool(self, *arguments):
        subprocess.run([self.tool("keytool"), *arguments], check=True, stdout=subprocess.DEVNULL)

    def create(self, path, keys=1, kdf=("--kdf", "scrypt"), weak=False):
        extra = list(kdf) + (["--allow-weak-kdf"] if weak else [])
        self.keytool("create", "-o", path, "--account", ACCOUNT, "--password-file", self.password_file,
                     "--keys", str(keys), "--force", *extra)

    def pair(self, name, ours, reference, target, note="", ours_stdin=None, runs=None):
        """Runs ours and reference alternately; records medians and the ratio."""
        (ours_times, ours_rss), (reference_times, reference_rss) = compare([ours, reference], runs or self.args.runs,
                                                                          [ours_stdin, None])
        ratio = statistics.median(ours_times) / statistics.median(reference_times)
        self.rows.append(dict(name=name, ours=ours_times, reference=reference_times, ratio=ratio, target=target,
                              ours_rss=max(ours_rss), reference_rss=max(reference_rss), note=note))
        verdict = "ok" if target is None or ratio <= target else "MISSED"
        print(f"{name}: ratio {ratio:.3f} (target {target}) {verdict}", file=sys.stderr)

    def run(self):
        tiny = self.args.tiny
        logn = 10 if tiny else 17
        iterations = 1000 if tiny else 600_000
        weak = tiny
        salt_hex = "00" * 32

        # 1. KDF cost: verify of one file against openssl kdf with the same parameters.
        scrypt_file = os.path.join(self.work, "scrypt.bin")
        self.create(scrypt_file, kdf=("--kdf", "scrypt", "--scrypt-log-n", str(logn)), weak=weak)
        verify = [self.tool("keytool"), "verify", "--account", ACCOUNT, "--password-file", self.password_file]
        if weak:
            verify.append("--allow-weak-kdf")
        self.pair(f"1a. verify scrypt N=2^{logn} r=8 p=1 vs openssl kdf SCRYPT", verify + [scrypt_file],
                  self.openssl_scrypt(logn), 1.05)
        pbkdf2_file = os.path.join(self.work, "pbkdf2.bin")
        self.create(pbkdf2_file, kdf=("--kdf", "pbkdf2", "--pbkdf2-iterations", str(iterations)), weak=weak)
        self.pair(f"1b. verify PBKDF2-HMAC-SHA256 {iterations} iterations vs openssl kdf PBKDF2", verify + [pbkdf2_file],
                  ["openssl", "kdf", "-keylen", "32", "-kdfopt", "digest:SHA256", "-kdfopt", f"pass:{PASSWORD}",
                   "-kdfopt", f"hexsalt:{salt_hex}", "-kdfopt", f"iter:{iterations}", "PBKDF2"], 1.05)

        # 2. Bulk verify without password: our parallel verify vs sha256sum in one process.
        bulk_count = 200 if tiny else 10_000
        bulk = self.backup_folder(f"bulk-{bulk_count}", bulk_count, scrypt_file)
        integrity = [self.tool("keytool"), "verify", "--recursive"] + (["--allow-weak-kdf"] if weak else [])
        self.pair(f"2. verify --recursive {bulk_count} files (no password) vs find | xargs sha256sum",
                  integrity + [bulk],
                  shell(f"find {bulk} -type f -print0 | xargs -0 sha256sum > /dev/null"), 0.8)

        # 3. Bulk verify with password: 100 files, one set of credentials, vs 100 sequential openssl kdf runs.
        count = 10 if tiny else 100
        folder = os.path.join(self.work, f"with-password-{count}")
        os.makedirs(folder, exist_ok=True)
        for index in range(count):
            self.create(os.path.join(folder, f"miiskeys-{index}.bin"), kdf=("--kdf", "scrypt", "--scrypt-log-n", str(logn)), weak=weak)
        openssl_loop = " ; ".join([shlex.join(self.openssl_scrypt(logn)) + " >/dev/null"] * count)
        password_runs = self.args.password_runs or self.args.runs
        self.pair(f"3. verify {count} files with password vs {count} sequential openssl kdf", verify + ["--recursive", folder],
                  shell(openssl_loop), 0.6, runs=password_runs,
                  note="" if password_runs == self.args.runs else f"{password_runs} runs for this pair (each round is long)")

        # 4. Activation overhead: miisactivate end to end vs openssl kdf with the file's parameters,
        # on SQLite and, when a PostgreSQL cluster is given (make bench runs under
        # scripts/with-postgres.sh, which exports MIIS_TEST_POSTGRES_URL and PGPASSWORD), on PostgreSQL.
        self.activation_pair(logn, weak, "SQLite", None)
        if os.environ.get("MIIS_TEST_POSTGRES_URL"):
            self.activation_pair(logn, weak, "PostgreSQL", os.environ["MIIS_TEST_POSTGRES_URL"])
        else:
            print("bench: skipping the PostgreSQL activation pair (no MIIS_TEST_POSTGRES_URL)", file=sys.stderr)

        # 5. Inspect latency vs openssl asn1parse on a DER file of the same size.
        der = os.path.join(self.work, "same-size.der")
        self.write_der(der, os.path.getsize(scrypt_file))
        self.pair("5. inspect vs openssl asn1parse (same-size DER)", [self.tool("keytool"), "inspect", scrypt_file],
                  ["openssl", "asn1parse", "-inform", "DER", "-in", der], 1.5)

        # 6. Scaling in the number of keys and of files.
        for keys in ([1, 100, 1000] if tiny else [1, 100, 10_000, 65_535]):
            path = self.key_file(keys, logn, weak)
            verify_time, verify_rss = self.median_of(verify + [path])
            inspect_time, inspect_rss = self.median_of([self.tool("keytool"), "inspect", path])
            self.scaling.append((f"{keys} keys ({os.path.getsize(path)} bytes)", verify_time, verify_rss, inspect_time, inspect_rss))
        for files in ([10, 100, 200] if tiny else [100, 1000, 10_000]):
            folder = self.backup_folder(f"bulk-{files}", files, scrypt_file)
            seconds, rss = self.median_of(integrity + [folder])
            self.scaling.append((f"verify --recursive, {files} files, no password", seconds, rss, None, None))

        # 7. Memory of one scrypt N=2^17 verify.
        self.memory = max(measure(verify + [scrypt_file])[1] for _ in range(3))

        self.issue_targets(logn, weak, scrypt_file, der, bulk)
        self.write_report(logn, iterations)

    def key_file(self, keys, logn, weak):
        """The scrypt N=2^logn file with `keys` keys, created once per run."""
        path = os.path.join(self.work, f"keys-{keys}.bin")
        if not os.path.exists(path):
            self.create(path, keys=keys, kdf=("--kdf", "scrypt", "--scrypt-log-n", str(logn)), weak=weak)
        return path

    def issue_targets(self, logn, weak, scrypt_file, der, bulk):
        """The targets table of issue 12. Every row runs this build ("now") and, with --baseline, the
        older binaries ("today") in the same rotated rounds as the reference, so that both columns and
        their ratios come from one machine state."""
        sides = [self.tools] + ([self.baseline] if self.baseline else [])
        weak_flag = ["--allow-weak-kdf"] if weak else []
        startup_runs = self.args.startup_runs or (self.args.runs if self.args.tiny else 50)

        def keytool(directory, *arguments):
            return [self.tool("keytool", directory), *arguments]

        def verify(directory, *arguments):
            return keytool(directory, "verify", "--account", ACCOUNT, "--password-file", self.password_file, *weak_flag, *arguments)

        def integrity(directory, *arguments):
            return keytool(directory, "verify", "--recursive", *weak_flag, *arguments)

        def ratio_rows(names_targets, ours_per_row, reference, runs):
            """ours_per_row[i] holds row i's command per side; all rows share one set of rounds."""
            flat = [command for commands in ours_per_row for command in commands]
            results = compare(flat + [reference], runs)
            reference_median = statistics.median(results[-1][0])
            medians = iter(statistics.median(times) for times, _ in results[:-1])
            for (name, target), commands in zip(names_targets, ours_per_row):
                values = [next(medians) / reference_median for _ in commands]
                cells = [f"{value:.2f}× ({value * reference_median * 1000:.1f} ms vs {reference_median * 1000:.1f} ms)"
                         for value in values]
                self.target_row(name, values, cells, target, f"≤ {target}×")

        ratio_rows([("`keytool inspect` vs `openssl asn1parse` (same-size DER)", 1.5)],
                   [[keytool(side, "inspect", scrypt_file) for side in sides]],
                   ["openssl", "asn1parse", "-inform", "DER", "-in", der], startup_runs)
        ratio_rows([("`keytool --version` vs `openssl version`", 1.5)],
                   [[keytool(side, "--version") for side in sides]], ["openssl", "version"], startup_runs)

        results = compare([verify(side, scrypt_file) for side in sides] + [self.openssl_scrypt(logn)], 3)
        reference_peak = max(results[-1][1]) / 1024
        values = [max(rss) / 1024 - reference_peak for _, rss in results[:-1]]
        self.target_row(f"scrypt N=2^{logn} verify peak RSS vs `openssl kdf`", values,
                        [f"{value:+.1f} MiB ({value + reference_peak:.1f} vs {reference_peak:.1f} MiB)" for value in values],
                        6, "≤ +6 MiB")

        files = sum(len(names) for _, _, names in os.walk(bulk))
        ratio_rows([(f"`keytool verify -r` {files:,} files (no password) vs `find … | xargs -0 sha256sum`, default -j "
                     f"({len(os.sched_getaffinity(0))} cores)", 0.7),
                    (f"the same with `-j 1`", 1.0)],
                   [[integrity(side, bulk) for side in sides], [integrity(side, "-j", "1", bulk) for side in sides]],
                   shell(f"find {bulk} -type f -print0 | xargs -0 sha256sum > /dev/null"), self.args.runs)

        keys = 1000 if self.args.tiny else 65_535
        one, many = self.key_file(1, logn, weak), self.key_file(keys, logn, weak)
        results = compare([command for side in sides for command in (verify(side, one), verify(side, many))], self.args.runs)
        values = [(statistics.median(results[2 * index + 1][0]) - statistics.median(results[2 * index][0])) / (keys - 1) * 1e6
                  for index in range(len(sides))]
        self.target_row(f"password open of a {keys:,}-key file, cost per key "
                        f"((verify of {keys:,} keys − verify of 1 key, scrypt N=2^{logn}) / {keys - 1:,})", values,
                        [f"{value:.2f} µs" for value in values], 2, "≤ 2 µs")

        tools = ("keytool", "miisactivate", "miisserver")
        sizes = [{name: stripped_size(self.tool(name, side)) for name in tools} for side in sides]
        # What is installed: one file per distinct binary (miisactivate is a second name of the
        # multi-call miisserver binary since issue 12; before, three files).
        files = [{os.path.realpath(self.tool(name, side)): name for name in tools} for side in sides]
        totals = [sum(size[name] for name in names.values()) for size, names in zip(sizes, files)]
        self.target_row("stripped size: `keytool`", [size["keytool"] / 1e6 for size in sizes],
                        [f"{size['keytool'] / 1e6:.1f} MB" for size in sizes], 15, "≤ 15 MB")
        self.target_row("stripped size: all three tools together (installed files)", [total / 1e6 for total in totals],
                        [f"{total / 1e6:.1f} MB ({' + '.join(f'{name} {size[name] / 1e6:.1f}' for name in sorted(names.values()))})"
                         for total, size, names in zip(totals, sizes, files)], 100, "≤ 100 MB")

    def target_row(self, name, values, cells, limit, target):
        """values[0]/cells[0] are this build's, values[1]/cells[1] the baseline's when there is one."""
        self.targets.append(dict(name=name, now=cells[0], today=cells[1] if len(cells) > 1 else None,
                                 target=target, met=values[0] <= limit))
        today = f"today {cells[1]}, " if len(cells) > 1 else ""
        print(f"target {name}: {today}now {cells[0]} (target {target}) {'ok' if values[0] <= limit else 'MISSED'}", file=sys.stderr)

    def version(self, directory):
        result = subprocess.run([self.tool("keytool", directory), "--version"], capture_output=True, text=True)
        return result.stdout.strip() or f"exit {result.returncode}"

    def openssl_scrypt(self, logn):
        """openssl kdf with the parameters of our scrypt files (same password, a fixed salt)."""
        return ["openssl", "kdf", "-keylen", "32", "-kdfopt", f"pass:{PASSWORD}", "-kdfopt", "hexsalt:" + "00" * 32,
                "-kdfopt", f"n:{2 ** logn}", "-kdfopt", "r:8", "-kdfopt", "p:1", "SCRYPT"]

    def median_of(self, command, runs=None):
        results = [measure(command) for _ in range(runs or max(3, self.args.runs // 2))]
        return statistics.median(r[0] for r in results), max(r[1] for r in results)

    def backup_folder(self, name, count, source):
        folder = os.path.join(self.work, name)
        if not os.path.isdir(folder):
            os.makedirs(folder)
            for index in range(count):
                shutil.copyfile(source, os.path.join(folder, f"miiskeys-{index:05d}.bin"))
        return folder

    @staticmethod
    def write_der(path, size):
        """An OCTET STRING whose encoding is exactly `size` bytes."""
        for header in (2, 3, 4, 5):
            length = size - header
            if header == 2 and length < 128:
                encoded_length = bytes([length])
            elif header > 2 and length < 256 ** (header - 2) and length >= 128:
                encoded_length = bytes([0x80 | (header - 2)]) + length.to_bytes(header - 2, "big")
            else:
                continue
            with open(path, "wb") as handle:
                handle.write(b"\x04" + encoded_length + os.urandom(length))
            return
        raise SystemExit("bench: cannot build a DER file of that size")

    def backup_tool(self):
        """`backup` moves from keytool to miisserver (issue 12); either binary set is benchmarked."""
        tool = json.loads(subprocess.run([self.tool("miisserver"), "--experimental-dump-help"], check=True,
                                         capture_output=True).stdout)
        names = [command["commandName"] for command in tool["command"].get("subcommands", [])]
        return self.tool("miisserver" if "backup" in names else "keytool")

    def activation_pair(self, logn, weak, engine, database):
        """Two installations on one database (SQLite file, or the PostgreSQL URL given); each round
        activates the other one."""
        if os.geteuid() != 0:
            print("bench: skipping the activation benchmark (miisactivate needs root)", file=sys.stderr)
            return
        deployment = os.path.join(self.work, f"deployment-{engine.lower()}")
        os.makedirs(deployment, exist_ok=True)
        database = database or os.path.join(deployment, "shared.db")
        kdf = ["--kdf", "scrypt", "--scrypt-log-n", str(logn)] + (["--allow-weak-kdf"] if weak else [])
        for name, role in (("bench1", "primary"), ("bench2", "standby")):
            command = [self.tool("miisserver"), "setup", "--install-dir", os.path.join(deployment, name), "--name", name,
                       "--database", database, "--role", role, "--account", ACCOUNT, "--admin-group", "root"]
            if role == "primary":
                command += ["--password-file", self.password_file] + kdf
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        backup = os.path.join(deployment, "miis_keys.bin")
        subprocess.run([self.backup_tool(), "backup", "--install-dir", os.path.join(deployment, "bench1"), "-o", backup,
                        "--password-file", self.password_file] + kdf, check=True, stdout=subprocess.DEVNULL)
        turn = {"next": "bench2"}

        def activate():
            target = turn["next"]
            turn["next"] = "bench1" if target == "bench2" else "bench2"
            # Each activation makes the other server's predecessor alive (it just took over), so the
            # alternation is a planned switch: forced, with its reason logged, as an admin would.
            return [self.tool("miisactivate"), backup, ACCOUNT, "*", "/q", "--install-dir", os.path.join(deployment, target),
                    "--force", "--reason", "benchmark round"] + \
                (["--allow-weak-kdf"] if weak else [])

        # The command changes every round, so measure by hand with the same alternation.
        ours_times, reference_times, ours_rss = [], [], []
        reference = self.openssl_scrypt(logn)
        for round_number in range(self.args.runs):
            sides = ["ours", "reference"] if round_number % 2 == 0 else ["reference", "ours"]
            for side in sides:
                if side == "ours":
                    seconds, peak = measure(activate(), self.password_file)
                    ours_times.append(seconds)
                    ours_rss.append(peak)
                else:
                    reference_times.append(measure(reference)[0])
        ratio = statistics.median(ours_times) / statistics.median(reference_times)
        label = "4." if engine == "SQLite" else "4b."
        print(f"{label} activation ({engine}): ratio {ratio:.3f} (target 1.25)", file=sys.stderr)
        self.rows.append(dict(name=f"{label} miisactivate /q end to end ({engine}) vs openssl kdf SCRYPT N=2^{logn}",
                              ours=ours_times, reference=reference_times, ratio=ratio, target=1.25,
                              ours_rss=max(ours_rss), reference_rss=0,
                              note="each round is a real activation (failover, then failback)"
                              + ("; throwaway local cluster of scripts/with-postgres.sh (fsync=off)" if engine != "SQLite" else "")))

    def targets_report(self):
        today = (f"`{self.baseline}` ({self.version(self.baseline)})" if self.baseline
                 else "not measured: no `--baseline DIR` of older binaries was given")
        lines = ["## Targets of issue 12", "",
                 f"Today: {today}; now: `{self.tools}` ({self.version(self.tools)}). Both sides run in the same rotated "
                 "rounds as the reference; start-up rows are medians of "
                 f"{self.args.startup_runs or (self.args.runs if self.args.tiny else 50)} runs, MB = 10^6 bytes.", "",
                 "| pair | today | now | target |", "|---|---|---|---|"]
        for row in self.targets:
            lines.append(f"| {cell(row['name'])} | {row['today'] or '–'} | {row['now']}{' ✅' if row['met'] else ' ❌'} | {row['target']} |")
        return lines + ["", "## All pairs", ""]

    def write_report(self, logn, iterations):
        lines = ["# Benchmarks", "",
                 f"Generated by `make bench` (scripts/bench.py) on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
                 f"{self.args.runs} alternating runs per pair{' — TINY sizes (CI smoke run), not a measurement' if self.args.tiny else ''}.",
                 "Times are wall-clock seconds of whole processes; ratio = median(ours) / median(reference).", "",
                 "| benchmark | ours median (min–max) | reference median (min–max) | ratio | target | ours peak RSS |",
                 "|---|---|---|---|---|---|"]
        lines[5:5] = self.targets_report()
        for row in self.rows:
            verdict = "" if row["target"] is None else (" ✅" if row["ratio"] <= row["target"] else " ❌")
            lines.append(f"| {cell(row['name'])} | {fmt(row['ours'])} | {fmt(row['reference'])} | {row['ratio']:.3f}{verdict} | "
                         f"≤ {row['target']} | {row['ours_rss'] / 1024:.1f} MiB |")
        notes = [f"- {row['name'].split(' ')[0]} {row['note']}" for row in self.rows if row["note"]]
        if notes:
            lines += ["", "Notes:", ""] + notes
        lines += ["", "## Scaling", "", "| input | verify median | verify peak RSS | inspect median | inspect peak RSS |", "|---|---|---|---|---|"]
        for label, verify_time, verify_rss, inspect_time, inspect_rss in self.scaling:
            inspect = "–" if inspect_time is None else f"{inspect_time:.3f} s"
            inspect_memory = "–" if inspect_rss is None else f"{inspect_rss / 1024:.1f} MiB"
            lines.append(f"| {label} | {verify_time:.3f} s | {verify_rss / 1024:.1f} MiB | {inspect} | {inspect_memory} |")
        lines += ["", "## Memory", "",
                  f"Peak RSS of one scrypt N=2^{logn} r=8 p=1 verify: {self.memory / 1024:.1f} MiB (target ≤ 152 MiB = 128 MiB + 24 MiB).", ""]
        # The hand-written analysis (profiles, what was done) survives a re-run of the numbers.
        if os.path.exists(self.args.output):
            with open(self.args.output) as handle:
                previous = handle.read()
            marker = previous.find("\n## Analysis")
            if marker >= 0:
                lines.append(previous[marker + 1:].rstrip("\n") + "\n")
        with open(self.args.output, "w") as handle:
            handle.write("\n".join(lines))
        print(f"bench: wrote {self.args.output}", file=sys.stderr)


def cell(text):
    """A Markdown table cell: a pipe in a shell command would split the column."""
    return text.replace("|", "\\|")


def fmt(values):
    return f"{statistics.median(values):.3f} s ({min(values):.3f}–{max(values):.3f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: check the benchmark runs (CI)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--password-runs", type=int, default=None,
                        help="runs for pair 3 only (100 scrypt files per round; default: --runs)")
    parser.add_argument("--products", default=".build/release")
    parser.add_argument("--baseline", default=None,
                        help="older binaries (keytool, miisactivate, miisserver) for the targets table's today column")
    parser.add_argument("--startup-runs", type=int, default=None,
                        help="runs of the start-up rows of the targets table (default 50; --tiny: --runs)")
    parser.add_argument("--output", default="BENCHMARKS.md")
    args = parser.parse_args()
    bench = Bench(args)
    try:
        bench.run()
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    main()
