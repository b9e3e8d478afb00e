"""axe-core in the browser tests: `check(page)` runs it on the page as shown and fails on any
critical or serious violation, naming the rule, the elements and the help.

axe-core is an npm devDependency (`npm ci` installs it, `make test` runs that first). It is
read from node_modules and handed to the page through the DevTools protocol, never copied into
crm/static: the app does not serve it, and the page's content security policy (which refuses
inline scripts) stays on while axe looks at it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("critical", "serious")


@functools.cache
def source() -> str:
    """The axe-core script; a missing one fails the test that needs it, with the cure."""
    if not AXE_JS.is_file():
        raise AssertionError(
            f"axe-core is missing ({AXE_JS} not found): run `npm ci` (or `make bootstrap`) "
            "in the repository to install the browser tests' devDependencies"
        )
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Any, impacts: tuple[str, ...] = FAILING) -> list[dict[str, Any]]:
    """axe's violations on the page at this moment, those of the given impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # evaluated as a script through DevTools: the page's CSP does not apply to it
        page.evaluate(source())
    found = page.evaluate(
        """async () => {
          const result = await window.axe.run(document, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map((n) => ({
              target: n.target.map(String).join(" "),
              summary: n.failureSummary || "",
            })),
          }));
        }"""
    )
    return [v for v in found if v["impact"] in impacts]


def report(found: list[dict[str, Any]], where: str = "") -> str:
    """Violations as a person reads them: rule, impact, help, then each element."""
    lines = [f"axe-core: {len(found)} violation(s){' on ' + where if where else ''}"]
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"][:10]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
        if len(v["nodes"]) > 10:
            lines.append(f"    … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def check(page: Any, where: str = "") -> None:
    """Fails unless axe finds no critical or serious violation on the page."""
    found = violations(page)
    assert not found, report(found, where or page.url)
