"""The one YAML reader of ips-sim: plain YAML only, bounded work, every problem as one line.

Every YAML file ips-sim reads (scenarios, sweeps, state files, calibration
overlays, text typed into the app) goes through :func:`load_yaml_text` or
:func:`load_yaml_file`. On top of PyYAML's safe loader it

* rejects duplicate keys (YAML would silently keep the last: a file saying 5
  specialists would simulate 2), naming the key and the line of each occurrence;
* rejects every explicit tag (``!!binary``, ``!!python/object``, ``!custom``,
  ``!!str`` ...): a scenario is plain values, so a tag is never meant;
* bounds the work before building anything: file size, nesting depth (checked
  while composing, so 2,000 nested brackets never reach Python's recursion
  limit), and the number of values after aliases are expanded (a 342-byte
  "billion laughs" file is refused in milliseconds); recursive aliases are refused;
* resolves plain scalars like YAML 1.2's core schema: ``010`` is ten (not octal
  eight), ``1:30`` is text (not ninety), ``1e9`` is a number; ``true/false`` and
  YAML 1.1's ``yes/no/on/off`` are booleans (number fields then refuse them);
* keeps dates as text: ``date: 2026-01-01`` reads as the string
  ``"2026-01-01"`` (quoted or not), so every value round-trips to JSON and a
  date field parses the ISO text itself.

Problems raise :class:`YAMLInputError` whose ``messages`` are one bounded
line each: ``file: line L, column C: what is wrong`` or ``file: field.path: ...``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from ips_sim.core.echo import clip

MAX_BYTES = 1024 * 1024         # a scenario is about 1 KB; the largest sweep or state file is far below this
MAX_DEPTH = 40                  # scenario fields are 3 levels deep; sweeps and state files a few more
# Values (keys, items, scalars) after alias expansion: a sweep of 10,000 explicit points fits. Pure-Python
# YAML composes some 30,000-100,000 values a second, so this also bounds the time spent reading a file.
MAX_NODES = 20_000
MAX_NUMBER_DIGITS = 100         # longer integers are certainly a mistake (and slow to convert)

_CORE = "tag:yaml.org,2002:"


class YAMLInputError(ValueError):
    """A YAML file that is not plain, bounded YAML; ``messages`` holds one line per problem."""

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


class _Limit(yaml.MarkedYAMLError):
    """A limit hit while composing: reported with its line and column like a syntax error."""


# --------------------------------------------------------------------------- scalars (YAML 1.2 core, dates as text)


class _Resolver(BaseResolver):
    pass


_Resolver.add_implicit_resolver(
    _CORE + "bool",
    re.compile(r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$"),
    list("yYnNtTfFoO"))
_Resolver.add_implicit_resolver(
    _CORE + "int",
    re.compile(r"^(?:[-+]?[0-9][0-9_]*|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"))
_Resolver.add_implicit_resolver(
    _CORE + "float",
    re.compile(r"^(?:[-+]?(?:\.[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))
_Resolver.add_implicit_resolver(_CORE + "null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_Resolver.add_implicit_resolver(_CORE + "merge", re.compile(r"^(?:<<)$"), ["<"])


class _Constructor(SafeConstructor):
    pass


def _construct_int(loader: SafeConstructor, node: ScalarNode) -> int:
    text = str(loader.construct_scalar(node)).replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if len(text) > MAX_NUMBER_DIGITS:
        raise ConstructorError(None, None, f"a number with {len(text):,} digits is too long", node.start_mark)
    if text[:2] in ("0x", "0X"):
        return sign * int(text[2:], 16)
    if text[:2] in ("0o", "0O"):
        return sign * int(text[2:], 8)
    return sign * int(text, 10)


def _construct_float(loader: SafeConstructor, node: ScalarNode) -> float:
    text = str(loader.construct_scalar(node))
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise ConstructorError(None, None, f"a number with {len(text):,} characters is too long", node.start_mark)
    return SafeConstructor.construct_yaml_float(loader, node)


_Constructor.add_constructor(_CORE + "int", _construct_int)
_Constructor.add_constructor(_CORE + "float", _construct_float)


# --------------------------------------------------------------------------- the loader


def _tag_text(tag: str) -> str:
    return "!!" + tag[len(_CORE):] if tag.startswith(_CORE) else tag


class _Loader(Reader, Scanner, Parser, Composer, _Constructor, _Resolver):
    """PyYAML's pure-Python safe loader with depth and tag checks while composing."""

    def __init__(self, stream, max_depth: int, max_nodes: int):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)
        self.max_depth = max_depth
        self.max_nodes = max_nodes
        self.depth = 0
        self.nodes = 0

    def fetch_flow_collection_start(self, token_class):
        # Checked while scanning: the scanner looks ahead over every opening bracket
        # (quadratic in their number) before the composer sees the first one.
        if self.flow_level >= self.max_depth:
            raise _Limit(None, None, f"nested more than {self.max_depth} levels deep", self.get_mark())
        super().fetch_flow_collection_start(token_class)

    def compose_node(self, parent, index):
        if not self.check_event(AliasEvent):
            event = self.peek_event()
            tag = getattr(event, "tag", None)
            if tag is not None:
                raise _Limit(None, None, f"YAML tag {clip(_tag_text(tag), 60)} is not allowed: write plain values "
                             "(quote text that should stay text)", event.start_mark)
            if self.depth >= self.max_depth:
                raise _Limit(None, None, f"nested more than {self.max_depth} levels deep", event.start_mark)
            self.nodes += 1
            if self.nodes > self.max_nodes:
                raise _Limit(None, None, f"more than {self.max_nodes:,} values: too many for an ips-sim input file",
                             event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _key_text(node) -> str:
    if isinstance(node, ScalarNode):
        return clip(node.value, 80)
    return "(complex key)"


def _check_graph(root, source: str, max_nodes: int, max_depth: int) -> list[str]:
    """Duplicate keys, recursive aliases, depth and size after alias expansion; one line per problem."""
    problems: list[str] = []
    memo: dict[int, tuple[int, int]] = {}     # id(node) -> (values after expansion, height)
    active: set[int] = set()
    seen_dupes: set[int] = set()

    class Stop(Exception):
        pass

    def visit(node, path: str, depth: int) -> tuple[int, int]:
        nid = id(node)
        if nid in memo:
            size, height = memo[nid]
            if depth + height > max_depth:
                problems.append(f"{source}: {path or '(top level)'}: aliases nest values more than {max_depth} "
                                "levels deep: write the values out")
                raise Stop
            return size, height
        if nid in active:
            problems.append(f"{source}: line {node.start_mark.line + 1}: {path or '(top level)'}: "
                            "an alias refers to a value that contains it (recursive alias): not allowed")
            raise Stop
        if depth > max_depth:
            problems.append(f"{source}: {path or '(top level)'}: values nest more than {max_depth} levels deep")
            raise Stop
        size, height = 1, 0
        if isinstance(node, (SequenceNode, MappingNode)):
            active.add(nid)
            if isinstance(node, MappingNode):
                if nid not in seen_dupes:
                    seen_dupes.add(nid)
                    lines: dict[tuple[str, str], list[int]] = {}
                    for k, _ in node.value:
                        if isinstance(k, ScalarNode) and k.tag != _CORE + "merge":
                            lines.setdefault((k.tag, k.value), []).append(k.start_mark.line + 1)
                    for (_, key), where in lines.items():
                        if len(where) > 1:
                            at = f"{path}.{clip(key, 80)}" if path else clip(key, 80)
                            listed = ", ".join(str(n) for n in where[:-1]) + f" and {where[-1]}"
                            problems.append(f"{source}: {at}: duplicate key on lines {listed}: give each key "
                                            "once (YAML would silently keep only the last)")
                children = []
                for k, v in node.value:
                    children.append((k, path))
                    children.append((v, f"{path}.{_key_text(k)}" if path else _key_text(k)))
            else:
                children = [(v, f"{path}[{i}]") for i, v in enumerate(node.value)]
            for child, child_path in children:
                s, h = visit(child, child_path, depth + 1)
                size += s
                height = max(height, h + 1)
                if size > max_nodes:
                    problems.append(f"{source}: {path or '(top level)'}: more than {max_nodes:,} values once "
                                    "aliases are expanded: too many for an ips-sim input file (an alias bomb?)")
                    raise Stop
            active.discard(nid)
        memo[nid] = (size, height)
        return size, height

    try:
        visit(root, "", 0)
    except Stop:
        pass
    return problems


def _error_line(source: str, exc: yaml.YAMLError) -> str:
    """One line for a YAML error: file, line and column, what is wrong."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable YAML"])[0]
    kind = "" if isinstance(exc, (_Limit, ConstructorError)) else "YAML syntax error: "
    return f"{source}: {where}: {kind}{clip(problem, 300)}"


def load_yaml_text(text: str, source: str = "<text>", *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                   max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document under the rules above; raise YAMLInputError with one line per problem."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise YAMLInputError([f"{source}: (file): {size:,} bytes: at most {max_bytes:,} bytes"])
    # Every value needs a separator (a comma or a new line): refuse a file that cannot fit the limit
    # before spending time scanning it.
    separators = text.count(",") + text.count("\n")
    if separators > 2 * max_nodes:
        raise YAMLInputError([f"{source}: (file): {separators:,} lines and commas: more than {max_nodes:,} values "
                              "is too many for an ips-sim input file"])
    loader = None
    try:
        loader = _Loader(text, max_depth, max_nodes)
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _check_graph(node, source, max_nodes, max_depth)
        if problems:
            raise YAMLInputError(problems)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise YAMLInputError([_error_line(source, exc)]) from None
    except RecursionError:  # pragma: no cover - the depth limits above keep well below Python's
        raise YAMLInputError([f"{source}: (file): nested too deeply"]) from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_file(path: str | Path, what: str = "scenario", *, max_bytes: int = MAX_BYTES,
                   max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """Read and parse a YAML file; one line if it is missing, a folder, too large, not UTF-8 or not plain YAML."""
    path = Path(path)
    source = str(path)
    try:
        if not path.exists():
            raise YAMLInputError([f"{source}: (file): no such file: give the path of a {what} YAML file"])
        if path.is_dir():
            raise YAMLInputError([f"{source}: (file): is a folder: give the path of a {what} YAML file"])
        if not path.is_file():
            raise YAMLInputError([f"{source}: (file): not a regular file: give the path of a {what} YAML file"])
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise YAMLInputError([f"{source}: (file): cannot read: {clip(exc.strerror or exc, 200)}"]) from None
    if len(data) > max_bytes:
        raise YAMLInputError([f"{source}: (file): larger than {max_bytes:,} bytes: not a {what} file "
                              f"(a {what} file is a few kilobytes of YAML)"])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YAMLInputError([f"{source}: (file): byte {exc.start + 1} is not UTF-8 text: save the {what} file "
                              "as UTF-8"]) from None
    return load_yaml_text(text, source, max_bytes=max_bytes, max_depth=max_depth, max_nodes=max_nodes)
