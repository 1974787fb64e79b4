# The two commands of the README:
#   make demo   the main job: a demo deployment on SQLite, a standby activated
#   make test   the whole test suite (installs what it needs, builds, runs every test)
SWIFT ?= swift
PREFIX ?= /usr/local/miis

.PHONY: deps build release test demo install man clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: release
	scripts/demo.sh

# make install PREFIX=DIR: release binaries into DIR/Bin, man pages, shell completions.
install: release
	scripts/install.sh "$(PREFIX)"

clean:
	rm -rf .build
