"""Golden NLB plans: the whole plan for a new NLB Service, as JSON, compared with the file
`make golden` wrote (a missing file fails; it is never written here)."""

from __future__ import annotations

from typing import Any

import pytest

from .lb_fixtures import (
    GOLDEN,
    GOLDEN_CASES,
    NLB_GOLDEN_CASES,
    assert_matches_golden,
    nlb_plan_json,
)


@pytest.mark.parametrize(("golden", "annotations", "ports"), NLB_GOLDEN_CASES)
def test_golden_nlb_plans(golden: str, annotations: dict[str, str],
                          ports: list[dict[str, Any]]) -> None:
    assert_matches_golden(golden, nlb_plan_json(annotations, ports))


def test_a_missing_nlb_golden_file_fails_and_is_not_written() -> None:
    with pytest.raises(AssertionError, match="make golden"):
        test_golden_nlb_plans("nlb-no-such-plan", *NLB_GOLDEN_CASES[0][1:])
    assert not (GOLDEN / "nlb-no-such-plan.json").exists()


def test_every_golden_file_is_checked_by_a_case() -> None:
    """A file no case names is never compared: it would look like coverage and prove nothing."""
    cases = {name for name, *_ in (*GOLDEN_CASES, *NLB_GOLDEN_CASES)}
    assert {path.stem for path in GOLDEN.glob("*.json")} == cases


def test_the_golden_plans_hold_what_they_are_named_for() -> None:
    """A golden file proves nothing if its case lost what it was chosen for."""
    mixed = [a for a in nlb_plan_json(*NLB_GOLDEN_CASES[0][1:]) if a["op"] == "CreateNlbListener"]
    assert sorted(a["protocol"] for a in mixed) == ["TCP", "TCP_UDP", "UDP"]
    tls = nlb_plan_json(*NLB_GOLDEN_CASES[1][1:])
    create = next(a for a in tls if a["op"] == "CreateNetworkLoadBalancer")
    assert [m[1] for m in create["mappings"]] == [
        "eipalloc-0a1b2c3d4e5f60718", "eipalloc-0a1b2c3d4e5f60719"]
    assert "TLS" in [a["protocol"] for a in tls if a["op"] == "CreateNlbListener"]
