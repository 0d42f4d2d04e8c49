"""What import-linter cannot see: outside handoff/actions, no channel or handoff module adds
rows, runs UPDATE/INSERT/DELETE statements or sets a case-core column on a loaded row.
(Audit rows for reads, and staff sessions at login, are written where the read happens.)"""

from __future__ import annotations

import ast
from pathlib import Path

from casecore import models

ROOT = Path(__file__).resolve().parent.parent
GUARDED = [ROOT / "bots", ROOT / "handoff"]
ACTIONS = ROOT / "handoff" / "actions"
TABLES = (models.Conversation, models.Case, models.Message, models.ContactPoint, models.ConsentRecord,
          models.CaseNote, models.CaseStatusChange)
COLUMNS = {c.key for t in TABLES for c in t.__table__.columns} - {"id"}
# Write helpers that, like casecore.store, take the action's session: only actions call them.
HELPERS = {ROOT / "handoff" / "blocks.py"}
HELPER_WRITES = {"apply", "block_origin", "remember_origin", "lift_blocks"}
# Plain objects whose fields share a column's name (the email form's parsed answers).
NOT_ROWS = {"self", "cls", "ans", "answers"}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "sqlalchemy":
            found += [f"imports sqlalchemy.{a.name}" for a in node.names if a.name in ("update", "insert", "delete")]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("add", "add_all", "merge", "delete")
                and isinstance(node.func.value, ast.Name) and node.func.value.id in ("s", "session")):
            found.append(f"line {node.lineno}: {node.func.value.id}.{node.func.attr}(…)")
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "blocks"
                and node.func.attr in HELPER_WRITES):
            found.append(f"line {node.lineno}: blocks.{node.func.attr}(…) outside an action")
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else []
        for t in targets:
            for el in t.elts if isinstance(t, ast.Tuple) else [t]:
                if (isinstance(el, ast.Attribute) and el.attr in COLUMNS
                        and not (isinstance(el.value, ast.Name) and el.value.id in NOT_ROWS)):
                    found.append(f"line {el.lineno}: sets .{el.attr}")
    return found


def test_only_actions_write_case_core_tables() -> None:
    files = [p for d in GUARDED for p in d.rglob("*.py") if ACTIONS not in p.parents and p not in HELPERS]
    assert len(files) > 20
    bad = {str(p.relative_to(ROOT)): v for p in files if (v := _violations(p))}
    assert bad == {}


def test_the_check_sees_a_write() -> None:
    probe = ROOT / "tests" / "fixtures" / "_write_probe.py"
    probe.write_text("from sqlalchemy import update\n\nasync def f(s, conv):\n    conv.status = 'closed'\n"
                     "    s.add(conv)\n    await blocks.apply(s)\n")
    try:
        assert len(_violations(probe)) == 4
    finally:
        probe.unlink()
