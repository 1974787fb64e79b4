#!/usr/bin/env bash
# Installs release binaries into PREFIX/Bin (the reference's InstallationDirectory\Bin), man pages
# into PREFIX/share/man/man1, the documents they refer to into PREFIX/share/doc/miis and
# bash/zsh/fish completions under PREFIX/share.
# Usage: [DESTDIR=STAGE] scripts/install.sh PREFIX [PRODUCTS_DIR]
# DESTDIR stages the installation (GNU convention): the files go to STAGE/PREFIX, for a packager to
# copy to PREFIX. The tools find their installation from their own path, so nothing in the files
# names either.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:?usage: scripts/install.sh PREFIX [PRODUCTS_DIR]}
products=${2:-.build/release}
tools=(keytool miisactivate miisserver)
# miisactivate is the miisserver binary under its other name (one multi-call executable): installed
# as a hard link, so that Bin/ holds two files and /proc/self/exe names Bin/ for both names.
binaries=(keytool miisserver)
target=$prefix
prefix="${DESTDIR:-}$prefix"

if [ -L "$prefix/Bin" ]; then
    echo "install.sh: $prefix/Bin is a symbolic link; refusing to install through it" >&2
    exit 1
fi
install -d -m 0755 "$prefix/Bin" "$prefix/share/man/man1" "$prefix/share/doc/miis" \
    "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
# PREFIX is the installation directory and root runs what Bin/ holds: both root-owned (when
# installing as root) and not writable by group or others, whatever existed before and whatever
# the umask (install -d leaves an existing directory's owner, and an existing PREFIX's mode, alone).
if [ "$(id -u)" -eq 0 ]; then
    chown root:root "$prefix" "$prefix/Bin"
fi
chmod go-w "$prefix"
chmod 0755 "$prefix/Bin"
for binary in "${binaries[@]}"; do
    # -s strips symbols: the Swift runtime and Foundation are linked statically into release binaries.
    install -s -m 0755 "$products/$binary" "$prefix/Bin/$binary"
done
ln -f "$prefix/Bin/miisserver" "$prefix/Bin/miisactivate"
for tool in "${tools[@]}"; do
    install -m 0644 "docs/man/$tool.1" "$prefix/share/man/man1/$tool.1"
done
# keytool and miisserver use swift-argument-parser, which writes their completion scripts;
# miisactivate keeps the reference's syntax, so its completions are hand-written.
for tool in keytool miisserver; do
    "$prefix/Bin/$tool" --generate-completion-script bash > "$prefix/share/bash-completion/completions/$tool"
    "$prefix/Bin/$tool" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_$tool"
    "$prefix/Bin/$tool" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/$tool.fish"
done
install -m 0644 packaging/completions/miisactivate.bash "$prefix/share/bash-completion/completions/miisactivate"
install -m 0644 packaging/completions/_miisactivate "$prefix/share/zsh/site-functions/_miisactivate"
install -m 0644 packaging/completions/miisactivate.fish "$prefix/share/fish/vendor_completions.d/miisactivate.fish"
# The man pages send the reader to these (key-file format, PostgreSQL roles, security, runbook).
install -m 0644 README.md docs/keytool.md docs/miisserver.md docs/postgresql.md docs/security.md docs/key-file-format.md \
    "$prefix/share/doc/miis/"
echo "installed ${tools[*]} into $prefix/Bin, documents into $prefix/share/doc/miis"
# man finds PREFIX/share/man through PATH (PREFIX/Bin on PATH) on man-db, but not everywhere.
echo "man pages: add $target/share/man to MANPATH, e.g. export MANPATH=\"$target/share/man:\$(manpath)\""
