"""Write hicachectl/data/plan.schema.json from the pydantic Plan model.

    .venv/bin/python scripts/regen_plan_schema.py [--check]

``launch --plan`` checks saved plans against this schema before it imports pydantic
(hicachectl/launch/planview.py).  Titles and descriptions are dropped: only the structure
matters.  --check exits 1 when the file is out of date (the tests do the same).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def plan_schema() -> dict:
    from hicachectl.models import Plan

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if k not in ("title", "description") or isinstance(v, dict)
            }
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(Plan.model_json_schema())  # type: ignore[return-value]


def render() -> str:
    return json.dumps(plan_schema(), indent=1, sort_keys=True) + "\n"


def main() -> int:
    target = ROOT / "hicachectl" / "data" / "plan.schema.json"
    text = render()
    if "--check" in sys.argv[1:]:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            print(f"{target.relative_to(ROOT)} is out of date: run scripts/regen_plan_schema.py")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
