#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make docs-check: validates Documentation/.
#
# - Every .rst under Documentation/ is parsed by docutils and fails on the first warning
#   (halt level "warning"). The Sphinx directive toctree is registered as a checker: each
#   entry must name an existing .rst, and every .rst but index.rst must be in a toctree.
# - Every file under Documentation/ABI/ is in the kernel's ABI format: entries of What:
#   (one or more), Date:, KernelVersion:, Contact:, Description: (Users: optional), each
#   once, continuation lines indented, What: under /sys/; each Description is reST too.
# - The ABI files cover the code: every sysfs name the modules create (attribute files,
#   classes, class devices, kobject directories, symlinks: the literal names in
#   Attribute::new*, Class::new, Device::new*, Kobject::new*, Link::new under rtrs/ and
#   rnbd/) and every module parameter (module_param* in glue.c) appears in a What: line of
#   the ABI files of its directory (AREAS below); a read-only file is documented "RO", a
#   writable one "RW"; and every literal name in a What: line exists in the code.
#
# Needs Debian's python3-docutils (scripts/deps.sh). PYTHON overrides /usr/bin/python3.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import docutils' 2>/dev/null \
	|| { echo "check-docs: $PYTHON has no docutils (apt-get install python3-docutils, or make deps)" >&2; exit 1; }
exec "$PYTHON" - "$repo" <<'PY'
import io
import re
import sys
import textwrap
from pathlib import Path

import docutils.core
import docutils.utils
from docutils.parsers.rst import Directive, directives

repo = Path(sys.argv[1])
doc = repo / "Documentation"
abi = doc / "ABI"
errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


# --- reST -----------------------------------------------------------------------------------

toctree_entries = set()
current = {"file": None}


class Toctree(Directive):
    """Sphinx's toctree, checked: its entries must be documents of this tree."""

    has_content = True
    option_spec = {
        "maxdepth": directives.positive_int,
        "caption": directives.unchanged_required,
        "name": directives.unchanged,
        "hidden": directives.flag,
        "numbered": directives.unchanged,
        "titlesonly": directives.flag,
        "includehidden": directives.flag,
    }

    def run(self):
        base = current["file"].parent
        out = []
        for line in self.content:
            entry = line.strip()
            if not entry:
                continue
            m = re.fullmatch(r".*<([^<>]+)>", entry)
            name = m.group(1) if m else entry
            target = (base / (name + ".rst")).resolve()
            if not target.is_file():
                out.append(self.state_machine.reporter.warning(
                    f'toctree entry "{name}": no {target.relative_to(repo) if target.is_relative_to(repo) else target}',
                    line=self.lineno))
            else:
                toctree_entries.add(target)
        return out


directives.register_directive("toctree", Toctree)


def rest_check(text, where, path=None):
    """Parses `text` as reST; returns the system messages at warning level or above."""
    stream = io.StringIO()
    settings = {
        "report_level": 2,
        "halt_level": 2,
        "warning_stream": stream,
        "input_encoding": "utf-8",
        "file_insertion_enabled": False,
        "raw_enabled": False,
    }
    current["file"] = path or doc / "ABI"
    try:
        docutils.core.publish_doctree(text, source_path=str(where), settings_overrides=settings)
    except docutils.utils.SystemMessage as e:
        return [str(e)]
    except Exception as e:  # a docutils bug must not pass as success
        return [f"docutils failed: {e!r}"]
    return [m for m in stream.getvalue().splitlines() if m.strip()]


rst_files = sorted(doc.rglob("*.rst"))
if not (doc / "index.rst").is_file():
    err("Documentation", "no index.rst")
for f in rst_files:
    rel = f.relative_to(repo)
    for m in rest_check(f.read_text(encoding="utf-8"), rel, f):
        err(rel, m)
for f in rst_files:
    if f.name != "index.rst" and f.resolve() not in toctree_entries:
        err(f.relative_to(repo), "not in any toctree (Documentation/index.rst)")

# --- ABI files --------------------------------------------------------------------------------

TAGS = ("What", "Date", "KernelVersion", "Contact", "Description", "Users")
ONCE = ("Date", "KernelVersion", "Contact", "Description")
tag_re = re.compile(r"^(%s):[ \t]*(.*)$" % "|".join(TAGS))
date_re = re.compile(r"^([A-Z][a-z]+ \d{4}|\d{4}-\d{2}(-\d{2})?)$")


def parse_abi(path):
    """The entries of an ABI file: lists of (tag, first line, continuation lines, line no)."""
    rel = path.relative_to(repo)
    entries, entry, field = [], None, None
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = tag_re.match(line)
        if m:
            tag, value = m.groups()
            if tag == "What" and (entry is None or field[0] != "What"):
                entry = []
                entries.append(entry)
            elif entry is None:
                err(f"{rel}:{no}", f"{tag}: before the first What:")
                continue
            field = [tag, value.strip(), [], no]
            entry.append(field)
        elif not line.strip():
            if field is not None:
                field[2].append("")
        elif line[0] in " \t":
            if field is None or field[0] not in ("Description", "Users"):
                err(f"{rel}:{no}", "continuation line outside Description:/Users:")
            else:
                field[2].append(line)
        else:
            err(f"{rel}:{no}", f"neither a field ({', '.join(TAGS)}) nor indented: {line[:40]!r}")
    return entries


abi_whats = {}  # ABI file name -> [(What path, Description text, line)]
abi_files = sorted(p for p in abi.rglob("*") if p.is_file()) if abi.is_dir() else []
if not abi_files:
    err("Documentation/ABI", "no ABI files")
for path in abi_files:
    rel = path.relative_to(repo)
    entries = parse_abi(path)
    if not entries:
        err(rel, "no entries")
    for entry in entries:
        first = entry[0][3]
        tags = [f[0] for f in entry]
        for t in ONCE:
            if tags.count(t) != 1:
                err(f"{rel}:{first}", f"entry has {tags.count(t)} {t}: fields, needs 1")
        if tags.count("Users") > 1:
            err(f"{rel}:{first}", "entry has several Users: fields")
        fields = {f[0]: f for f in entry if f[0] != "What"}
        for tag, value, rest, no in entry:
            if tag != "Description" and tag != "Users" and not value:
                err(f"{rel}:{no}", f"empty {tag}:")
            if tag == "What" and not value.startswith("/sys/"):
                err(f"{rel}:{no}", f"What: not under /sys/: {value}")
            if tag == "Date" and not date_re.match(value):
                err(f"{rel}:{no}", f"Date: not 'Mon YYYY' or YYYY-MM[-DD]: {value}")
            if tag == "KernelVersion" and not re.match(r"^\d+\.\d+", value):
                err(f"{rel}:{no}", f"KernelVersion: not a version: {value}")
        if "Description" in fields:
            _, value, rest, no = fields["Description"]
            while rest and not rest[-1]:
                rest.pop()
            body = textwrap.dedent("\n".join(l.expandtabs(8) for l in rest))
            text = (value + "\n" + body).strip()
            if not text:
                err(f"{rel}:{no}", "empty Description:")
            for m in rest_check(text + "\n", f"{rel}:{no} (Description)"):
                err(f"{rel}:{no}", f"Description is not valid reST: {m}")
            whats = [(f[1], text, f[3]) for f in entry if f[0] == "What"]
            abi_whats.setdefault(path.name, []).extend(whats)

# --- The ABI files against the code ------------------------------------------------------------

# Which ABI files document the sysfs entries of each module directory.
AREAS = {
    "rtrs/client": ["sysfs-class-rtrs-client"],
    "rtrs/server": ["sysfs-class-rtrs-server", "sysfs-module-rtrs-server"],
    "rnbd/client": ["sysfs-class-rnbd-client", "sysfs-block-rnbd"],
    "rnbd/server": ["sysfs-class-rnbd-server", "sysfs-module-rnbd-server"],
}
CALLS = re.compile(
    r"\b(Attribute::new(?:_self_removing)?(?:::<[^>]*>)?|Class::new|Device::new(?:_uevent_suppressed)?"
    r"|Kobject::new(?:_dir)?|Link::new)\(")
LITERAL = re.compile(r'\b(?:c_str|fmt|format_args)!\(\s*"([^"{}]+)"\s*\)')
MODE = re.compile(r",\s*(0o[0-7]+)\s*\)?\s*$")
PARAM = re.compile(r"\bmodule_param(?:_named|_cb|_string)?\(\s*(\w+)\s*,")


def call_args(text, start):
    """The argument text of the call whose '(' is at `start - 1`."""
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def code_names(area):
    """(name, mode or None, where) of every sysfs entry and parameter the code of `area` makes."""
    names = []
    for f in sorted((repo / area).rglob("*.rs")):
        text = f.read_text(encoding="utf-8")
        for m in CALLS.finditer(text):
            args = call_args(text, m.end())
            where = f"{f.relative_to(repo)}:{text.count(chr(10), 0, m.start()) + 1}"
            lits = LITERAL.findall(args)
            if not lits:
                continue
            mode = None
            if m.group(1).startswith("Attribute"):
                mm = MODE.search(args)
                if not mm:
                    err(where, "attribute without a mode the checker can read")
                    continue
                mode = int(mm.group(1), 8)
            for name in lits:
                names.append((name, mode, where))
    for f in sorted((repo / area).rglob("*.c")):
        text = f.read_text(encoding="utf-8")
        for m in PARAM.finditer(text):
            perm = re.search(r",\s*(0[0-7]{3})\s*\)\s*;", text[m.end():text.find(";", m.end()) + 1])
            where = f"{f.relative_to(repo)}:{text.count(chr(10), 0, m.start()) + 1}"
            names.append((m.group(1), int(perm.group(1), 8) if perm else None, where))
    return names


modules = set(re.findall(r"(\w+)\.o", re.search(r"^obj-m\s*\+?=(.*)$",
                                                (repo / "Kbuild").read_text(), re.M).group(1)))
STANDARD = {"", "sys", "class", "block", "module", "parameters"}
known = set(STANDARD) | modules
areas_seen = {str(p.parent.relative_to(repo)) for p in
              list((repo / "rtrs").rglob("*.rs")) + list((repo / "rnbd").rglob("*.rs"))}
for a in sorted(areas_seen):
    if not any(a == k or a.startswith(k + "/") for k in AREAS) and a not in ("rtrs/common", "rnbd/common"):
        err(a, "module directory without ABI files in AREAS of scripts/check-docs.sh")

for area, files in AREAS.items():
    for fname in files:
        if fname not in abi_whats:
            err(f"Documentation/ABI/testing/{fname}", f"missing (ABI file of {area})")
    whats = [w for fname in files for w in abi_whats.get(fname, [])]
    comps = {c for path, _, _ in whats for c in path.split("/")}
    for name, mode, where in code_names(area):
        known.add(name)
        if name not in comps:
            err(where, f"sysfs entry '{name}' is in no What: line of {', '.join(files)}")
            continue
        if mode is None:
            continue
        want = "RW" if mode & 0o222 else "RO"
        for path, text, _ in whats:
            if path.rsplit("/", 1)[-1] == name and not text.startswith(want):
                err(where, f"'{name}' is {oct(mode)}, but {path} is not documented as {want}")

for fname, whats in sorted(abi_whats.items()):
    for path, _, no in whats:
        for c in path.split("/"):
            if "<" not in c and c not in known:
                err(f"Documentation/ABI/testing/{fname}:{no}", f"'{c}' of {path} is in no module's code")

if errors:
    print("\n".join(errors))
    print(f"docs-check: {len(errors)} error(s)")
    sys.exit(1)
n_whats = sum(len(w) for w in abi_whats.values())
print(f"docs-check: {len(rst_files)} reST files, {len(abi_files)} ABI files with {n_whats} What: lines, "
      f"covering every sysfs entry and module parameter of rtrs/ and rnbd/: OK")
PY
