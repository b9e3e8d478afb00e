"""The structure docs/architecture.md describes, kept true: who may import whom.

Read from the source (the AST of every module under crm/), not from what happens to be
imported at run time, so an import inside a function counts too. Run as a script
(`python -m tests.test_architecture`) it prints the area dependencies and any two-way pairs.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "crm"
#: Modules that put the app together: they may import every area's views and commands.
COMPOSITION = {"crm", "crm.cli", "crm.models", "crm.wsgi", "crm.manage"}
#: Foundation packages: they stand below every area and import none.
FOUNDATION = {"text"}
#: What a model may import besides other models.
MODEL_BASE = {"crm.db", "crm.extensions", "crm.clock", "crm.keep"}
#: pure text functions a column's stored key is computed with (a name's pinyin sort key)
MODEL_BASE |= {"crm.text.normal", "crm.text.pinyin"}
WEB_LAYER = {"views", "pages", "cli", "forms", "downloads"}  # an area's top: pages, commands…
#: Shared helpers of the web layer (the form flow, form fields, one-time submission keys).
WEB_SHARED = {"crm.web", "crm.forms"}


@dataclass(frozen=True)
class Import:
    source: str  # module importing
    target: str  # module imported (a name inside it is resolved to the module)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(name: str) -> str:
    """`crm.text.normal.core_name` → `crm.text.normal`: the longest prefix that is a module."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name


@cache
def imports() -> tuple[Import, ...]:
    found = []
    for name, path in modules().items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                if target == "crm" or target.startswith("crm."):
                    resolved = _resolve(target)
                    if resolved and resolved != name:
                        found.append(Import(name, resolved, node.lineno))
    return tuple(found)


def area(module: str) -> str | None:
    """`crm.matching.services` → matching; top-level modules (crm.db) have none."""
    parts = module.split(".")
    if len(parts) >= 2 and (ROOT / parts[1]).is_dir():
        return parts[1]
    return None


def layer(module: str) -> str:
    """The module's last name: models, services, views, cli, forms, …"""
    return module.rpartition(".")[2]


def _is_model(module: str) -> bool:
    return layer(module) == "models"


def _is_web(module: str) -> bool:
    return layer(module) in WEB_LAYER or module in WEB_SHARED


def service_edges() -> dict[tuple[str, str], list[Import]]:
    """Area → area, counting what an area's own logic (not its pages, commands or forms)
    uses of another area's logic (not its models: tables are shared by relationships)."""
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports():
        a, b = area(imp.source), area(imp.target)
        if a and b and a != b and not _is_web(imp.source) and not _is_model(imp.target):
            edges[(a, b)].append(imp)
    return edges


def two_way_pairs(edges: dict[tuple[str, str], list[Import]]) -> list[tuple[str, str]]:
    return sorted({tuple(sorted(pair)) for pair in edges if pair[::-1] in edges})  # type: ignore[misc]


def cycles(edges: dict[tuple[str, str], list[Import]]) -> list[list[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def _where(imports_: list[Import]) -> list[str]:
    return [f"{i.source}:{i.line} imports {i.target}" for i in imports_]


# ---- the contracts -----------------------------------------------------------------------------


def test_the_foundation_imports_no_area():
    """crm.text (normalising, tokens, pinyin, stored terms) stands below search and matching."""
    bad = [
        i
        for i in imports()
        if area(i.source) in FOUNDATION
        and (area(i.target) not in (None, area(i.source)) or i.target in COMPOSITION)
    ]
    assert not bad, _where(bad)


def test_models_import_only_models():
    bad = [
        i
        for i in imports()
        if _is_model(i.source)
        and i.source not in COMPOSITION
        and not _is_model(i.target)
        and i.target not in MODEL_BASE
    ]
    assert not bad, _where(bad)


def test_no_area_imports_another_areas_pages_or_commands():
    bad = [
        i
        for i in imports()
        if layer(i.target) in ("views", "cli")
        and i.source not in COMPOSITION
        and area(i.source) != area(i.target)
    ]
    assert not bad, _where(bad)


def test_logic_never_imports_pages_commands_or_forms():
    """Services, models and shared modules are below the web layer of every area."""
    bad = [
        i
        for i in imports()
        if _is_web(i.target) and not _is_web(i.source) and i.source not in COMPOSITION
    ]
    assert not bad, _where(bad)


def test_shared_modules_use_no_area_logic():
    """Top-level machinery (db, web, money, bulk, …) may read areas' models but not their
    services: an area builds on it, not the other way round."""
    allowed_areas = {"audit", "search", "auth"}  # the hooks and accounts every write carries
    bad = [
        i
        for i in imports()
        if area(i.source) is None
        and i.source not in COMPOSITION
        and area(i.target) not in (None, *FOUNDATION, *allowed_areas)
        and not _is_model(i.target)
    ]
    assert not bad, _where(bad)


def test_audit_reads_no_areas_forms_or_pages():
    """The change history names a field by its form's label, which each area registers with
    crm.audit.labels; audit imports no area's forms, views or pages, so the areas' pages may
    show audit's history without the two leaning on each other."""
    bad = [
        i
        for i in imports()
        if area(i.source) == "audit"
        and area(i.target) not in (None, "audit")
        and layer(i.target) in WEB_LAYER
    ]
    assert not bad, _where(bad)


def test_areas_logic_depends_one_way():
    """No two areas use each other's logic, and no longer cycle either."""
    edges = service_edges()
    pairs = two_way_pairs(edges)
    assert not pairs, [(a, b, _where(edges[(a, b)]), _where(edges[(b, a)])) for a, b in pairs]
    assert not cycles(edges)


def test_the_rules_see_real_imports():
    """The reader finds what is there (so a passing contract is not an empty one)."""
    found = {(i.source, i.target) for i in imports()}
    assert ("crm.search.index", "crm.text.terms") in found
    assert ("crm.matching.index", "crm.text.docs") in found
    assert ("crm", "crm.search.index") in found
    assert any(layer(t) == "views" for s, t in found if s == "crm")


if __name__ == "__main__":
    edges = service_edges()
    for (a, b), found in sorted(edges.items()):
        print(f"{a} -> {b}: {', '.join(sorted({i.target for i in found}))}")
    pairs = two_way_pairs(edges)
    print(f"{len(pairs)} two-way pairs", pairs, "cycles:", cycles(edges), file=sys.stderr)
