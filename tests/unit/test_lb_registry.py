"""The one action registry: every action type can be applied, simulated and permitted, and
the IAM list of `cloud.operations` is exactly what the registry and the observer call."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pytest

from k8s_aws.cloud import clb, lb_registry, operations
from k8s_aws.cloud.lb_registry import ActionKind, Applied
from k8s_aws.model import lb_actions
from k8s_aws.model.lb_actions import Action
from k8s_aws.model.loadbalancer import Observed

from .test_operations_declared import SRC

ACTION_TYPES = [t for _, t in inspect.getmembers(lb_actions, inspect.isclass)
                if issubclass(t, Action) and t is not Action]


def test_every_action_type_has_an_applier_an_effect_and_operations() -> None:
    assert len(ACTION_TYPES) >= 17  # the Classic ELB family today
    assert lb_registry.registry_problems(clb.REGISTRY, ACTION_TYPES) == []
    for action_type in ACTION_TYPES:
        kind = clb.REGISTRY[action_type]
        assert inspect.iscoroutinefunction(kind.apply), action_type


@dataclass(frozen=True)
class Unregistered(Action):
    name: str


async def _noop(context: lb_registry.Context, action: Any) -> None:
    return None


def _same(state: Observed, action: Any, applied: Applied) -> Observed:
    return state


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        (None, "Unregistered: no kind registered"),
        (ActionKind(Unregistered, None, _same, (("elb", "AddTags"),)),  # type: ignore[arg-type]
         "Unregistered: no applier"),
        (ActionKind(Unregistered, _noop, None, (("elb", "AddTags"),)),  # type: ignore[arg-type]
         "Unregistered: no effect"),
        (ActionKind(Unregistered, _noop, _same, ()), "Unregistered: no operations"),
        (ActionKind(Unregistered, _noop, _same, (("elb", "DeleteEverything"),)),
         "Unregistered: elb:DeleteEverything is not an lb operation in cloud.operations"),
    ],
)
def test_a_kind_missing_any_of_the_three_is_a_problem(kind: Any, problem: str) -> None:
    registry = dict(clb.REGISTRY)
    if kind is not None:
        registry[Unregistered] = kind
    assert problem in lb_registry.registry_problems(registry, [*ACTION_TYPES, Unregistered])


def test_an_unregistered_action_is_refused_not_skipped() -> None:
    with pytest.raises(LookupError, match="no applier registered for action Unregistered"):
        clb.simulate(Observed(), (Unregistered("x"),))


def test_the_lb_iam_list_is_what_the_registry_and_the_observer_call() -> None:
    """Every mutating lb operation in cloud.operations belongs to some action kind, and every
    read is made by the observer or an applier's look-up."""
    claimed = {op for kind in clb.REGISTRY.values() for op in kind.operations}
    lb_ops = {(op.service, op.name): op for op in operations.OPERATIONS if op.feature == "lb"}
    mutating = {key for key, op in lb_ops.items() if op.mutates}
    assert mutating == {key for key in claimed if lb_ops[key].mutates}
    observer = (SRC / "cloud" / "lb_observer.py").read_text()
    elb_reads = {n for (s, n), op in lb_ops.items() if s == "elb" and not op.mutates}
    assert elb_reads and {n for n in elb_reads if f'"{n}"' not in observer} == set()
