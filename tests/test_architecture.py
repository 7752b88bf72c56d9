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
    graph["midistyle.io"].add("midistyle.cli")
    assert cycles(graph)


def test_no_private_name_is_imported_across_modules():
    bad = [(a, b, n) for a, b, n in imports(modules()) if n and n.startswith("_") and not n.startswith("__")]
    assert bad == []
