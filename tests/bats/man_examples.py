#!/usr/bin/python3
"""man_examples.py PAGE TOOLS [DIR]: prints the commands in PAGE's .EX/.EE blocks that start with one
of TOOLS (space-separated) and a space, after an optional `$ ` prompt; roff escapes undone;
each ended by a NUL.  A command goes on while it ends in a backslash or has an open single
quote.  With DIR, an example block whose first line is `# NAME.cfg ...` is written to
DIR/NAME.cfg, so that examples using it can run.
"""
import os, re, sys
path, tools = sys.argv[1], sys.argv[2].split()
outdir = sys.argv[3] if len(sys.argv) > 3 else None
named = {"-": "-", "e": "\\", "&": "", " ": " ", "'": "'", "`": "`", "(aq": "'",
         "(dq": '"', "(ga": "`", "(mu": "\u00d7", "(em": "\u2014", "(en": "\u2013",
         "(ti": "~", "(ha": "^", "(rs": "\\", "[aq]": "'", "[dq]": '"', "[rs]": "\\"}
def unroff(s):
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    return re.sub(r"\\(\[[^]]*\]|\(..|.)", lambda m: named.get(m.group(1), m.group(0)), s)
inside, cur, block = False, None, None
for raw in open(path, encoding="utf-8"):
    line = raw.rstrip("\n")
    if line.startswith(".EX"):
        inside, block = True, []
        continue
    if line.startswith(".EE"):
        m = re.match(r"# (\S+\.cfg)\b", block[0]) if block else None
        if outdir and m:
            with open(os.path.join(outdir, os.path.basename(m.group(1))), "w") as f:
                f.write("\n".join(block) + "\n")
        inside, cur = False, None
        continue
    if not inside or line.startswith((".", "'")):
        continue
    text = unroff(line)
    block.append(text)
    if cur is None:
        text = text[2:] if text.startswith("$ ") else text
        if not any(text.startswith(t + " ") for t in tools):
            continue
        cur = text
    else:
        cur += "\n" + text
    if cur.endswith("\\") or cur.count("'") % 2:
        continue
    sys.stdout.write(cur + "\0")
    cur = None
