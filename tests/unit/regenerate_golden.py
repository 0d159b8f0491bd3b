"""Rewrite the golden plans (`make golden`): the only way they are written. Review the diff."""

from __future__ import annotations

import json

from .lb_fixtures import GOLDEN, GOLDEN_CASES, NLB_GOLDEN_CASES, nlb_plan_json, plan_json


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, values, spec in GOLDEN_CASES:
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(plan_json(values, **spec), indent=2) + "\n")
        print(f"wrote {path}")
    for name, notes, ports in NLB_GOLDEN_CASES:
        path = GOLDEN / f"{name}.json"
        path.write_text(json.dumps(nlb_plan_json(notes, ports), indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
