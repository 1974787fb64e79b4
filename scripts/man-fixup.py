#!/usr/bin/env python3
"""Turns swift-argument-parser's generated mdoc page into one that renders without warnings.

Usage: scripts/man-fixup.py PAGE.1   (rewrites the page in place; `make man` runs it)

- A blank line (a paragraph break in a command's discussion) becomes .Pp: mdoc warns on blank lines.
- The exit-status table that the root command's discussion carries (the --help text) moves from
  DESCRIPTION into EXIT STATUS as a tagged list (.Bl -tag), instead of the generator's generic
  .Ex -std and a run-on paragraph; the lines after the table stay a paragraph there.
"""
import re
import sys

TABLE_HEADING = "EXIT STATUS (shared by keytool, miisserver and miisactivate)"
ROW = re.compile(r"^\s+(\d+)\s+(.*)$")


def fixup(lines):
    out = []
    exit_status = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if line == TABLE_HEADING:
            rows = []
            index += 1
            while index < len(lines) and ROW.match(lines[index]):
                rows.append(ROW.match(lines[index]).groups())
                index += 1
            trailing = []
            while index < len(lines) and lines[index] and not lines[index].startswith("."):
                trailing.append(lines[index])
                index += 1
            exit_status = ["Shared by keytool, miisserver and miisactivate:", ".Bl -tag -width 4n -compact"]
            for code, meaning in rows:
                exit_status += [f".It {code}", meaning]
            exit_status.append(".El")
            if trailing:
                # "> unsupported" at the start of a line would be text anyway; keep it one paragraph.
                exit_status += [".Pp", " ".join(trailing)]
            continue
        if line == "":
            if out and out[-1] not in (".Pp",) and not out[-1].startswith(".Sh"):
                out.append(".Pp")
            index += 1
            continue
        out.append(line)
        index += 1
    # A description that held only the table starts with a list now: nothing to drop.
    if exit_status:
        position = out.index(".Ex -std")
        out[position:position + 1] = exit_status
    return out


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().split("\n")
    trailing_newline = lines and lines[-1] == ""
    if trailing_newline:
        lines = lines[:-1]
    result = fixup(lines)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(result) + ("\n" if trailing_newline else ""))


if __name__ == "__main__":
    main()
