"""``scripts/oracle_resolve.py`` runs in a scratch venv without hicachectl, so it keeps its own
copy of the resolved fields it records; it must stay the resolver's ``HICACHE_FIELDS``."""

from __future__ import annotations

import ast

from conftest import ROOT

from hicachectl.sglang.resolver import HICACHE_FIELDS


def test_oracle_records_the_resolvers_fields():
    tree = ast.parse((ROOT / "scripts" / "oracle_resolve.py").read_text(encoding="utf-8"))
    (fields,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "FIELDS" for t in node.targets)
    ]
    assert fields == HICACHE_FIELDS
