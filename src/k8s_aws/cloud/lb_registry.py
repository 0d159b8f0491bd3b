"""The one action registry: every load balancer action type declares, in one `ActionKind`,
how it is applied (its AWS calls), what it changes in the snapshot (its effect, pure) and the
AWS operations it may call (each declared in `cloud.operations`, hence in the IAM policy).

A load balancer family adds kinds (`cloud.clb_actions`, `cloud.clb_group_actions`), never a
ladder: applying a plan and simulating it both look the action's kind up here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from k8s_aws.cloud import operations
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.lb_actions import Action, Plan
from k8s_aws.model.loadbalancer import Observed

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elb import ElasticLoadBalancingClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

A = TypeVar("A", bound=Action)


@dataclass
class Applied:
    """What applying produced: ids of created groups (by `$ref`) and the LB's DNS name."""

    refs: dict[str, str] = field(default_factory=dict)
    dns_name: str = ""

    def ref(self, group: str) -> str:
        return self.refs.get(group, group)


@dataclass
class Context:
    """What an applier works with: the clients, the cluster, the VPC, the results so far."""

    elb: ElasticLoadBalancingClient
    ec2: EC2Client
    run: Runner
    cluster: str
    vpc_id: str
    elbv2: ElasticLoadBalancingv2Client  # the Network LB family's client
    applied: Applied = field(default_factory=Applied)


@dataclass(frozen=True)
class ActionKind(Generic[A]):
    type: type[A]
    apply: Callable[[Context, A], Awaitable[None]]
    effect: Callable[[Observed, A, Applied], Observed]
    operations: tuple[tuple[str, str], ...]  # (boto3 service, operation) it may call


REGISTRY: dict[type[Action], ActionKind[Any]] = {}


def register(kind: ActionKind[A]) -> ActionKind[A]:
    if kind.type in REGISTRY:
        raise ValueError(f"action {kind.type.__name__} is registered twice")
    REGISTRY[kind.type] = kind
    return kind


def _subclasses(base: type[Action]) -> list[type[Action]]:
    found = []
    for sub in base.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def registry_problems(
    registry: dict[type[Action], ActionKind[Any]], actions: list[type[Action]] | None = None
) -> list[str]:
    """What keeps the registry from being complete: an action type without a kind, or a kind
    without an applier, an effect, or operations declared (for the load balancers) in
    `cloud.operations`. Empty when every action can be applied, simulated and permitted."""
    declared = {(op.service, op.name) for op in operations.OPERATIONS if op.feature == "lb"}
    problems = [f"{t.__name__}: no kind registered"
                for t in (actions if actions is not None else _subclasses(Action))
                if t not in registry]
    for action_type, kind in registry.items():
        name = action_type.__name__
        entry: Any = kind  # typed as complete; checked here because a registry is data
        if not callable(entry.apply):
            problems.append(f"{name}: no applier")
        if not callable(entry.effect):
            problems.append(f"{name}: no effect")
        if not kind.operations:
            problems.append(f"{name}: no operations")
        problems += [f"{name}: {s}:{o} is not an lb operation in cloud.operations"
                     for s, o in kind.operations if (s, o) not in declared]
    return problems


def kind_of(action: Action) -> ActionKind[Any]:
    kind = REGISTRY.get(type(action))
    if kind is None:
        raise LookupError(f"no applier registered for action {action.op}")
    return kind


def simulate(
    observed: Observed, actions: tuple[Action, ...], applied: Applied | None = None
) -> Observed:
    """The snapshot after `actions`, from their declared effects (pure). `applied` carries the
    ids AWS gave back for `$frontend`/`$backend` and the new LB's DNS name."""
    applied = applied or Applied()
    state = observed
    for action in actions:
        state = kind_of(action).effect(state, action, applied)
    return state


async def apply(context: Context, plan: Plan) -> Applied:
    """Run the plan's actions in order through their appliers."""
    for action in plan.actions:
        await kind_of(action).apply(context, action)
    return context.applied
