# The two commands of the README:
#   make demo   the main job: a demo deployment on SQLite, a standby activated
#   make test   the whole test suite (installs what it needs, builds, runs every test)
# Robustness (docs/security.md):
#   make fuzz SECONDS=600   libFuzzer on the key-file parser for SECONDS (default 600)
#   make fuzz-smoke         the same for about 60 s, for CI
#   make chaos SECONDS=600  random partitions, kills and failovers in network namespaces (docs/partitions.md)
SWIFT ?= swift
PREFIX ?= /usr/local/miis
SECONDS ?= 600

.PHONY: deps build release test demo install deb man bench bench-smoke fuzz fuzz-smoke chaos clean

deps:
	@scripts/install-deps.sh

# miisactivate is the miisserver binary under its other name (one multi-call executable): the
# link next to it is made after every build.
MULTICALL_LINK = ln -sfn miisserver

build: deps
	$(SWIFT) build
	$(MULTICALL_LINK) .build/debug/miisactivate

# Release binaries link the Swift runtime and Foundation statically (--static-swift-stdlib): a
# few ms less start-up per run (no dynamic loading of libFoundation/ICU); libcrypto, libssl and
# libsqlite3 stay dynamic system libraries. They link with the toolchain's lld (gold, the default,
# cannot pack relocations), with packed relative relocations (DT_RELR: needs glibc >= 2.36 where
# they run; Debian 12 has 2.36) and without the --export-dynamic that the toolchain's
# static-stdlib-args.lnk adds (the later --no-export-dynamic wins): the dynamic loader then has
# far fewer relocations and symbols to process at every start. BENCHMARKS.md, "Release link
# flags", has the measurements, and the crash backtraces this keeps. -z now binds every symbol at
# start-up, so that the whole relocation table is read-only afterwards (full RELRO, as Debian's
# hardening flags do; a handful of libcrypto/libsqlite3 symbols, no measurable start-up cost).
# The prefix maps keep the build folder's path out of the binaries (assertion and #filePath
# strings of the dependencies name their sources relative to the package): nothing
# machine-specific is shipped.
RELEASE_FLAGS = -c release --static-swift-stdlib -Xswiftc -use-ld=lld \
	-Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic -Xlinker -z -Xlinker now \
	-Xswiftc -file-prefix-map -Xswiftc $(CURDIR)=. -Xcc -ffile-prefix-map=$(CURDIR)=.

release: deps
	$(SWIFT) build $(RELEASE_FLAGS)
	$(MULTICALL_LINK) .build/release/miisactivate

# The suite runs in two serial lanes side by side (scripts/run-tests.sh): the network-namespace
# tests, which mostly wait out leases and timeouts, and the Debian-package tests, beside all the
# others. Within a lane nothing runs in parallel: the end-to-end tests spawn processes and measure
# bounded waits, which parallel runs on two cores would turn into flaky timing. scripts/with-postgres.sh starts the throwaway
# PostgreSQL cluster the PostgreSQL tests run against, and stops it afterwards.
# A 60-second libFuzzer smoke run of the parser comes first, so the test summaries close the output.
# The release binaries are built too: the Debian package is made from them and tested (installed
# into a throwaway root, lintian, the demo on the installed tools), and the release-only checks
# (link flags, fault points compiled out) run on them; MIIS_REQUIRE_RELEASE makes a missing
# release build fail those tests instead of skipping them.
test: deps
	$(SWIFT) build --build-tests
	$(MULTICALL_LINK) .build/debug/miisactivate
	$(SWIFT) build $(RELEASE_FLAGS)
	$(MULTICALL_LINK) .build/release/miisactivate
	scripts/fuzz.sh 60
	MIIS_REQUIRE_RELEASE=1 scripts/with-postgres.sh scripts/run-tests.sh .build/debug

demo: release
	scripts/demo.sh

# Benchmarks against openssl and coreutils, side by side; writes BENCHMARKS.md. It runs under
# scripts/with-postgres.sh so that the activation pair is also measured on PostgreSQL.
# BENCH_ARGS passes options through, e.g. make bench BENCH_ARGS="--password-runs 3".
# BASELINE=DIR (older release binaries: keytool, miisactivate, miisserver) fills the "today" column
# of the targets table, measured in the same rounds as this build.
BASELINE ?=
bench: release
	scripts/with-postgres.sh scripts/bench.py --products .build/release --output BENCHMARKS.md \
		$(if $(BASELINE),--baseline $(BASELINE)) $(BENCH_ARGS)

# CI: the benchmark command still runs, on tiny sizes (nothing is measured).
bench-smoke: release
	scripts/bench.py --tiny --runs 2 --products .build/release --output .build/BENCHMARKS-smoke.md

# make install PREFIX=DIR: release binaries into DIR/Bin, man pages, shell completions.
# DESTDIR=STAGE stages them under STAGE/DIR (for packagers).
install: release
	DESTDIR="$(DESTDIR)" scripts/install.sh "$(PREFIX)"

# make deb: the Debian package miis-keyfile-toolkit_VERSION_ARCH.deb in .build/deb, from the release
# binaries (dpkg-deb, offline; packaging/debian/README).
deb: release
	scripts/make-deb.sh --products .build/release --output .build/deb

# Regenerates docs/man/keytool.1 and miisserver.1 from their argument parsers (miisactivate.1,
# which follows the reference page's syntax, is written by hand).
man: release
	$(SWIFT) build $(RELEASE_FLAGS) --product generate-manual
	for tool in keytool miisserver; do \
		.build/release/generate-manual .build/release/$$tool --section 1 --date "$$(date +%Y-%m-%d)" \
			--authors "MIIS key-file toolkit maintainers" --output-directory docs/man; \
		scripts/man-fixup.py docs/man/$$tool.1; \
	done

# libFuzzer on the key-file parser (docs/security.md).
fuzz: deps
	scripts/fuzz.sh $(SECONDS)

fuzz-smoke: deps
	scripts/fuzz.sh 60

# The randomized partition scenario for SECONDS (default 600) with fresh seeds, as root: hosts in
# network namespaces, a replicated PostgreSQL pair, the invariants after every round; it prints
# the rounds, faults and invariant violations (docs/partitions.md). The suite runs a short fixed-seed version.
# SEED=N [ROUNDS=M] replays one seed (its random choices; default 10 rounds) instead.
SEED ?=
ROUNDS ?= 10
chaos: deps
	$(SWIFT) build --build-tests
	$(MULTICALL_LINK) .build/debug/miisactivate
	$(if $(SEED),MIIS_CHAOS_SEED=$(SEED) MIIS_CHAOS_ROUNDS=$(ROUNDS),MIIS_CHAOS_SECONDS=$(SECONDS)) \
		$(SWIFT) test --skip-build --no-parallel --filter 'PartitionChaosTests'

clean:
	rm -rf .build .build-fuzz
