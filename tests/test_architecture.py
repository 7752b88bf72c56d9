"""The package's import graph: read from every module (function-level imports included)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "midistyle"



def modules() -> dict:
    out = {}
    for f in PACKAGE.rglob("*.py"):
        name = ".".join(f.relative_to(PACKAGE.parent).with_suffix("").parts)
        out[name[: -len(".__init__")] if name.endswith(".__init__") else name] = f
    return out


def imports(mods: dict) -> list:
    """(importer, imported module, imported name) for every import between package modules."""
    out = []
    for name, f in mods.items():
        pkg = name if f.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    out.append((name, sub if sub in mods else base, None if sub in mods else a.name))
            elif isinstance(node, ast.Import):
                out.extend((name, a.name, None) for a in node.names)
    return [(a, b, n) for a, b, n in out if b in mods and b != a]


def cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle():
    mods = modules()
    graph = {m: set() for m in mods}
    for a, b, _ in imports(mods):
        graph[a].add(b)
    assert len(mods) > 30 and graph["midistyle.cli"]
    assert cycles(graph) == []
    # and the check sees one when there is one
    graph["midistyle.codec.io"].add("midistyle.cli")
    assert cycles(graph)


def test_no_private_name_is_imported_across_modules():
    bad = [(a, b, n) for a, b, n in imports(modules()) if n and n.startswith("_") and not n.startswith("__")]
    assert bad == []


# ----------------------------------------------------------------------------- library text names no flag
#: Flags belong to the command line (midistyle/cli/): a library message names the parameter or
#: settings field at fault (``MidistyleError.field``) and the command line adds the flag that sets
#: it, so the library reads the same from Python and the two cannot drift apart. Allowed, and
#: nothing else:
#: * beamconvert.py hands Apache Beam its own pipeline options, which are written as flags;
#: * a ``python -m`` entry point of a library module may show its usage and parse its own flags
#:   (its module docstring and its ``main``).
BEAM_OPTIONS = {"--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=",
                "--default_sdk_harness_log_level=ERROR"}
ENTRY_POINTS = {"midistyle.audio.genre"}


def flag_literals(name: str, path: Path) -> list:
    """(line, text) of the string literals of a module that name a command-line flag (``--x``),
    less the allowed ones."""
    import re

    tree = ast.parse(path.read_text())
    allowed = set()
    module_doc = ast.get_docstring(tree, clean=False) is not None and tree.body[0].value
    if name in ENTRY_POINTS:
        allowed.add(id(module_doc))
    if name in ENTRY_POINTS:
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "main":
                allowed.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"--[A-Za-z]", node.value):
            if id(node) in allowed or (name == "midistyle.codec.beamconvert" and node.value in BEAM_OPTIONS):
                continue
            out.append((node.lineno, node.value))
    return out


def test_library_strings_name_no_command_line_flag():
    bad = {name: flag_literals(name, path) for name, path in modules().items()
           if name != "midistyle.cli" and not name.startswith("midistyle.cli.")}
    assert {name: found for name, found in bad.items() if found} == {}


def test_the_flag_check_sees_a_flag(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text('"""Usage: --fine here? no, not an entry point."""\nX = f"{1}: use --force to overwrite"\n')
    assert [line for line, _ in flag_literals("midistyle.probe", probe)] == [1, 2]
    assert flag_literals("midistyle.codec.beamconvert", probe)[1:] == [(2, ": use --force to overwrite")]
