# The two commands of the README:
#   make demo   the main job: a demo deployment on SQLite, a standby activated
#   make test   the whole test suite (installs what it needs, builds, runs every test)
SWIFT ?= swift
PREFIX ?= /usr/local/miis

.PHONY: deps build release test demo install bench bench-smoke clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh $(SWIFT) test --skip-build

demo: release
	scripts/demo.sh

# Benchmarks against openssl and coreutils, side by side; writes BENCHMARKS.md.
bench: release
	scripts/bench.py --products .build/release --output BENCHMARKS.md

# CI: the benchmark command still runs, on tiny sizes (nothing is measured).
bench-smoke: release
	scripts/bench.py --tiny --runs 2 --products .build/release --output .build/BENCHMARKS-smoke.md

# make install PREFIX=DIR: release binaries into DIR/Bin, man pages, shell completions.
install: release
	scripts/install.sh "$(PREFIX)"

clean:
	rm -rf .build
