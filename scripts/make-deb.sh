#!/usr/bin/env bash
# Builds the Debian package miis-keyfile-toolkit_VERSION_ARCH.deb from release binaries, offline,
# with dpkg-deb (no debhelper, no network). packaging/debian/README describes the layout and the
# lintian overrides.
# Usage: scripts/make-deb.sh [--products DIR] [--output DIR] [--version VERSION] [--compression xz|gzip]
#   --products     the release binaries (default .build/release)
#   --output       where the .deb is written (default .build/deb)
#   --version      the package version (default: the binaries' --version, which must be the newest
#                  entry of packaging/debian/changelog; another version is for tests of upgrades)
#   --compression  of the data archive: xz (default, the smallest) or gzip (several times faster
#                  to build; for tests)
set -euo pipefail
cd "$(dirname "$0")/.."
products=.build/release
output=.build/deb
version=
compression=xz
while [ $# -gt 0 ]; do
    case $1 in
        --products) products=${2:?--products needs a directory}; shift 2 ;;
        --output) output=${2:?--output needs a directory}; shift 2 ;;
        --version) version=${2:?--version needs a version}; shift 2 ;;
        --compression)
            compression=${2:?--compression needs xz or gzip}; shift 2
            case $compression in xz|gzip) ;; *) echo "make-deb.sh: --compression is xz or gzip, not '$compression'" >&2; exit 64 ;; esac ;;
        *) echo "make-deb.sh: unknown argument '$1'" >&2; exit 64 ;;
    esac
done
fail() { echo "make-deb.sh: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps gzip strip; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done
for binary in keytool miisserver; do
    [ -x "$products/$binary" ] || fail "$products/$binary is missing (make release builds it)"
done

package=miis-keyfile-toolkit
# The version is the binaries' own: the three tools print the toolkit's release.
binary_version=$("$products/keytool" --version)
[ "$("$products/miisserver" --version)" = "$binary_version" ] || fail "keytool and miisserver report different versions"
changelog_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' packaging/debian/changelog)
if [ -z "$version" ]; then
    [ "$changelog_version" = "$binary_version" ] ||
        fail "the binaries are $binary_version but packaging/debian/changelog's newest entry is $changelog_version: add a changelog entry"
    version=$binary_version
fi
arch=$(dpkg --print-architecture)
# Reproducible: every file's time is the newest changelog entry's.
changelog_date=$(sed -n 's/^ -- .*>  \(.*\)$/\1/p' packaging/debian/changelog | head -n 1)
[ -n "$changelog_date" ] || fail "packaging/debian/changelog's newest entry has no trailer date"
epoch=${SOURCE_DATE_EPOCH:-$(date -d "$changelog_date" +%s)}

stage=$(mktemp -d "${TMPDIR:-/tmp}/miis-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
doc=$root/usr/share/doc/$package
umask 022
install -d -m 0755 "$root/DEBIAN" "$root/opt/miis/Bin" "$root/usr/bin" "$root/usr/share/man/man1" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d" "$root/lib/systemd/system" "$doc" \
    "$root/usr/share/lintian/overrides"

# The tools. /opt/miis is the installation directory (server.json and keys/ are made there by
# `miisserver setup`, never shipped); miisactivate is the multi-call miisserver under its other
# name, a hard link as in `make install`. Stripped as dh_strip does.
for binary in keytool miisserver; do
    install -m 0755 "$products/$binary" "$root/opt/miis/Bin/$binary"
    strip --remove-section=.comment --remove-section=.note "$root/opt/miis/Bin/$binary"
done
ln "$root/opt/miis/Bin/miisserver" "$root/opt/miis/Bin/miisactivate"
tools=(keytool miisactivate miisserver)
for tool in "${tools[@]}"; do
    # Absolute, as Debian policy wants links between top-level directories. The tools resolve
    # /proc/self/exe to /opt/miis/Bin, so they find their installation when run by this name.
    ln -s "/opt/miis/Bin/$tool" "$root/usr/bin/$tool"
    gzip -9n < "docs/man/$tool.1" > "$root/usr/share/man/man1/$tool.1.gz"
done

# Completions: keytool's and miisserver's come from their argument parsers, miisactivate's
# (the reference's syntax) are hand-written, as in scripts/install.sh.
for tool in keytool miisserver; do
    # A completion file is sourced, not run: without the generator's #! line.
    "$products/$tool" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/$tool"
    "$products/$tool" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_$tool"
    "$products/$tool" --generate-completion-script fish > "$root/usr/share/fish/vendor_completions.d/$tool.fish"
done
install -m 0644 packaging/completions/miisactivate.bash "$root/usr/share/bash-completion/completions/miisactivate"
install -m 0644 packaging/completions/_miisactivate "$root/usr/share/zsh/vendor-completions/_miisactivate"
install -m 0644 packaging/completions/miisactivate.fish "$root/usr/share/fish/vendor_completions.d/miisactivate.fish"
chmod 0644 "$root"/usr/share/bash-completion/completions/* "$root"/usr/share/zsh/vendor-completions/* \
    "$root"/usr/share/fish/vendor_completions.d/*

# systemd units: installed, not enabled (which server runs the service is the admin's decision).
install -m 0644 packaging/systemd/*.service packaging/systemd/*.timer "$root/lib/systemd/system/"

# Documentation the man pages and the README refer to by name (kept uncompressed: see
# packaging/debian/README), the copyright and the changelog.
install -m 0644 README.md docs/*.md "$doc/"
install -m 0644 docs/key-file-reference-reader.py "$doc/"
install -m 0644 packaging/debian/copyright "$doc/copyright"
gzip -9n < packaging/debian/changelog > "$doc/changelog.gz"
install -m 0644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/$package"

# Runtime dependencies computed from the binaries (dpkg-shlibdeps reads debian/control of a
# source tree: a minimal one in the stage).
mkdir -p "$stage/source/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$package" "$package" > "$stage/source/debian/control"
depends=$(cd "$stage/source" && dpkg-shlibdeps -O -e"$root/opt/miis/Bin/keytool" -e"$root/opt/miis/Bin/miisserver" 2>"$stage/shlibdeps.err" |
    sed -n 's/^shlibs:Depends=//p') || { cat "$stage/shlibdeps.err" >&2; fail "dpkg-shlibdeps failed"; }
[ -n "$depends" ] || fail "dpkg-shlibdeps found no dependencies"

install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
# Installed-Size as dpkg-gencontrol computes it (not du's blocks, which depend on the filesystem
# the stage is on): each file or link rounded up to KiB, a hard-linked file once, 1 per other entry.
installed_size=$(find "$root" -path "$root/DEBIAN" -prune -o ! -path "$root" -printf '%y %i %s\n' |
    awk '$1 == "f" || $1 == "l" { if (!seen[$2]++) total += int(($3 + 1023) / 1024); next } { total++ } END { print total }')
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@DEPENDS@/$depends/" packaging/debian/control > "$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

find "$root" -exec touch -h -d "@$epoch" {} +
mkdir -p "$output"
deb="$output/${package}_${version}_${arch}.deb"
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group "-Z$compression" --build "$root" "$deb.tmp" >/dev/null
mv -f "$deb.tmp" "$deb"
echo "$(cd "$output" && pwd)/$(basename "$deb")"
