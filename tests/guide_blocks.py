"""The commands shown in the documentation, run for real: parse, run, compare, refresh.

A page shows a command and what it prints in a fenced ```console block:

    ```console
    $ ips-sim run scenarios/county_next_24_months.yaml -n 20
    county_next_24_months: 20 replications in 0.1 s -> outputs/county_next_24_months/
    ...
    ```

A line starting with `$ ` is a command (a line ending in ` \\` continues on the next one);
the lines up to the next command or the end of the block are what it prints (stdout and
stderr together, as a terminal shows them). The commands of one page run in order, in one
fresh temporary folder holding a copy of the repository's scenarios/ and of docs/examples/
(as examples/: small files the pages use, bad input among them), so a page can report
on a folder only if one of its own commands made it. Other fences (```sh, ```text ...) are
not run: pages use them for commands whose output is not shown or that take too long.

`tests/test_guides.py` checks every page's printed output against what the page shows;
`python tests/guide_blocks.py --refresh` (`make docs-output`) re-runs every command and
rewrites the outputs in place, after a deliberate change of the model's numbers; a page's
`<!-- refresh-image SRC -> DEST -->` lines copy a plot its commands made (SRC, in the run
folder) over the image it shows (DEST, relative to the page).

Normalisations, the only differences allowed (applied to both sides when comparing):
- durations (`in 0.4 s`, `22.0 s ->`): wall time differs from run to run and machine to machine;
- the temporary folder's absolute path is removed (written relative to the page's folder);
- trailing spaces at line ends and blank lines at the end (editors strip them; a terminal
  does not show them).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = ("README.md", "docs")
FENCE = re.compile(r"^```console[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
IMAGE = re.compile(r"<!-- refresh-image (\S+) -> (\S+) -->")
DURATION = re.compile(r"(?<![\w.])\d+(?:\.\d+)? (?:s|ms)\b")
TIMEOUT_S = 600


@dataclass
class Command:
    """One `$ command` of a console block and the output the page shows for it."""

    text: str
    shown: str
    line: int  # line of the page where the command starts (1-based)


@dataclass
class Block:
    start: int  # offset of the block's body in the page
    end: int
    commands: list[Command] = field(default_factory=list)


def pages() -> list[Path]:
    """Every Markdown page that may hold console blocks: README.md and docs/**.md."""
    found = [REPO / "README.md"]
    found += sorted((REPO / "docs").rglob("*.md"))
    return [p for p in found if FENCE.search(p.read_text(encoding="utf-8"))]


def parse(text: str) -> list[Block]:
    """The console blocks of a page, each with its commands and shown outputs."""
    blocks = []
    for match in FENCE.finditer(text):
        block = Block(match.start(1), match.end(1))
        first_line = text.count("\n", 0, match.start(1)) + 1
        lines = match.group(1).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        k = 0
        while k < len(lines):
            if not lines[k].startswith("$ "):
                raise ValueError(f"line {first_line + k}: a console block must start with a `$ ` command line")
            start = k
            cmd = [lines[k][2:]]
            while cmd[-1].endswith("\\") and k + 1 < len(lines):
                k += 1
                cmd.append(lines[k])
            k += 1
            out = []
            while k < len(lines) and not lines[k].startswith("$ "):
                out.append(lines[k])
                k += 1
            block.commands.append(Command("\n".join(cmd), "\n".join(out), first_line + start))
        blocks.append(block)
    return blocks


def clean(output: str, folder: Path | None = None) -> str:
    """What is written in a page: no temporary folder path, no trailing spaces or blank lines."""
    if folder is not None:
        for form in {str(folder), str(folder.resolve())}:
            output = output.replace(form + os.sep, "").replace(form, ".")
    return "\n".join(line.rstrip() for line in output.split("\n")).strip("\n")


def comparable(output: str) -> str:
    """Output as compared: `clean` plus durations replaced (they vary from run to run)."""
    return DURATION.sub("<duration>", clean(output))


def environment() -> dict[str, str]:
    """The environment of the commands: this interpreter's `ips-sim` first, this checkout's code."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr in the order they were written, as on a terminal
    env["COLUMNS"] = "100"
    env.pop("IPS_SIM_WORKERS", None)
    return env


def run_page(page: Path, folder: Path) -> list[tuple[Command, str]]:
    """Run every command of a page in order in `folder`; (command, cleaned output) pairs."""
    shutil.copytree(REPO / "scenarios", folder / "scenarios")
    shutil.copytree(REPO / "docs" / "examples", folder / "examples")
    env = environment()
    results = []
    for block in parse(page.read_text(encoding="utf-8")):
        for command in block.commands:
            proc = subprocess.run(["bash", "-c", command.text], cwd=folder, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
            results.append((command, clean(proc.stdout, folder)))
    return results


def differences(page: Path, results: list[tuple[Command, str]]) -> list[str]:
    """One message per command whose output differs from what the page shows (with a diff)."""
    problems = []
    for command, actual in results:
        if comparable(actual) != comparable(command.shown):
            diff = difflib.unified_diff(comparable(command.shown).split("\n"), comparable(actual).split("\n"),
                                        "shown in the page", "printed now", lineterm="", n=1)
            problems.append(f"{page.relative_to(REPO)}:{command.line}: $ {command.text}\n" + "\n".join(diff))
    return problems


def refresh(page: Path, results: list[tuple[Command, str]]) -> bool:
    """Rewrite the outputs shown in a page with what the commands print now; True if it changed."""
    text = page.read_text(encoding="utf-8")
    actual = iter(out for _, out in results)
    pieces, pos = [], 0
    for block in parse(text):
        body = []
        for command in block.commands:
            out = next(actual)
            if comparable(out) == comparable(command.shown):
                out = clean(command.shown)  # only durations differ: keep the page as it is
            body.append("$ " + command.text + ("\n" + out if out else ""))
        pieces += [text[pos:block.start], "\n".join(body) + "\n"]
        pos = block.end
    new = "".join(pieces) + text[pos:]
    if new != text:
        page.write_text(new, encoding="utf-8")
    return new != text


def copy_images(page: Path, folder: Path) -> list[str]:
    """Copy the images a page marks with `<!-- refresh-image SRC -> DEST -->` (SRC in the page's
    run folder, DEST relative to the page): a refreshed page shows the plots of its own commands."""
    copied = []
    for src, dest in IMAGE.findall(page.read_text(encoding="utf-8")):
        target = (page.parent / dest).resolve()
        shutil.copyfile(folder / src, target)
        copied.append(str(target.relative_to(REPO)))
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refresh", action="store_true", help="rewrite the outputs shown in the pages")
    parser.add_argument("pages", nargs="*", type=Path, help="pages to run [default: every page with console blocks]")
    args = parser.parse_args(argv)
    chosen = [p.resolve() for p in args.pages] or pages()
    status = 0
    for page in chosen:
        with tempfile.TemporaryDirectory(prefix="ips-sim-guide-") as tmp:
            t0 = os.times()
            results = run_page(page, Path(tmp))
            t1 = os.times()
            images = copy_images(page, Path(tmp)) if args.refresh else []
        cpu = (t1.children_user + t1.children_system) - (t0.children_user + t0.children_system)
        name = page.relative_to(REPO)
        crashed = [c for c, out in results if "Traceback (most recent call last)" in out]
        if args.refresh and crashed:  # never write a crash into a page: the program must be fixed
            print(f"{name}: not rewritten: a command crashed: " + "; ".join(f"line {c.line}: $ {c.text}" for c in crashed))
            status = 1
        elif args.refresh:
            changed = refresh(page, results)
            print(f"{name}: {len(results)} commands, {cpu:.1f} CPU-s; {'outputs rewritten' if changed else 'unchanged'}"
                  + (f"; images copied: {', '.join(images)}" if images else ""))
        else:
            problems = differences(page, results)
            print(f"{name}: {len(results)} commands, {cpu:.1f} CPU-s; {len(problems)} differ")
            for problem in problems:
                print(problem)
            status = status or bool(problems)
    return status


if __name__ == "__main__":
    sys.exit(main())
