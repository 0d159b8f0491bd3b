"""The AWS actions a plan is made of: plain data, printable as JSON (`k8s-aws plan`).

Group ids may be symbolic: `$frontend` and `$backend` stand for groups created earlier in the
same plan and are resolved by the applier.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from k8s_aws.model.loadbalancer import Attributes, HealthCheck, IngressRule, Listener

FRONTEND_REF = "$frontend"
BACKEND_REF = "$backend"


@dataclass(frozen=True)
class Action:
    @property
    def op(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class CreateGroup(Action):
    ref: str
    name: str
    description: str
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AuthorizeIngress(Action):
    group: str
    rules: tuple[IngressRule, ...]


@dataclass(frozen=True)
class RevokeIngress(Action):
    group: str
    rules: tuple[IngressRule, ...]


@dataclass(frozen=True)
class CreateLoadBalancer(Action):
    name: str
    internal: bool
    subnets: tuple[str, ...]
    groups: tuple[str, ...]
    listeners: tuple[Listener, ...]
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SetSubnets(Action):
    name: str
    attach: tuple[str, ...]
    detach: tuple[str, ...]


@dataclass(frozen=True)
class SetGroups(Action):
    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class DeleteListeners(Action):
    name: str
    ports: tuple[int, ...]


@dataclass(frozen=True)
class CreateListeners(Action):
    name: str
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class ConfigureHealthCheck(Action):
    name: str
    health_check: HealthCheck


@dataclass(frozen=True)
class ModifyAttributes(Action):
    name: str
    attributes: Attributes


@dataclass(frozen=True)
class CreatePolicy(Action):
    name: str
    policy: str
    type: str
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SetBackendPolicies(Action):
    name: str
    instance_port: int
    policies: tuple[str, ...]


@dataclass(frozen=True)
class SetListenerPolicies(Action):
    name: str
    lb_port: int
    policies: tuple[str, ...]


@dataclass(frozen=True)
class AddTags(Action):
    name: str
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RegisterInstances(Action):
    name: str
    instances: tuple[str, ...]


@dataclass(frozen=True)
class DeregisterInstances(Action):
    name: str
    instances: tuple[str, ...]


@dataclass(frozen=True)
class DeleteLoadBalancer(Action):
    name: str


@dataclass(frozen=True)
class DeleteGroup(Action):
    group: str
    name: str


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...] = ()
    refusal: str | None = None  # why nothing may be done (an Event says it)
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> list[dict[str, Any]]:
        return [{"op": a.op, **asdict(a)} for a in self.actions]

    def dumps(self) -> str:
        return json.dumps(
            {"actions": self.to_json(), "refusal": self.refusal, "warnings": list(self.warnings)},
            indent=2, default=list,
        )
