"""What the fidelity layer does, as one frozen value that travels as JSON.

Every behaviour has its own switch so a test can turn off exactly the one it does not want;
delays are seconds of (emulator) time, short by default so tests stay fast. The control API
replaces the whole value (PUT) or merges a partial one into it (PATCH), so this module also
owns parsing, with errors that name the offending key.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, TypeVar

FaultKind = Literal["throttle", "server_error"]
FAULT_KINDS: tuple[str, ...] = ("throttle", "server_error")


class ConfigError(ValueError):
    """A fidelity configuration that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Behaviours:
    """One switch per AWS behaviour the emulator lacks (True: emulate AWS)."""

    # Time: resources pass through AWS's transitional states.
    volume_states: bool = True  # creating -> available
    attachment_states: bool = True  # attaching -> attached, detaching -> detached
    modification_states: bool = True  # modifying -> optimizing -> completed
    snapshot_states: bool = True  # pending -> completed
    load_balancer_states: bool = True  # ELBv2 provisioning -> active
    target_draining: bool = True  # deregistered ELBv2 targets drain
    # Validation AWS does and the emulator does not.
    security_group_dependencies: bool = True  # DependencyViolation, CannotDelete
    lingering_interfaces: bool = True  # ELB network interfaces, kept after the ELB is gone
    released_addresses: bool = True  # a terminated VM's private IP is free for the next one
    client_tokens: bool = True  # CreateVolume ClientToken idempotency
    elbv2_idempotency: bool = True  # same settings: same LB/TG/listener; else Duplicate*
    nlb_groups_at_creation: bool = True  # an NLB made without security groups takes none
    target_health: bool = True  # initial -> healthy/unhealthy as the health check allows
    nlb_addresses: bool = True  # EIPs associated to the NLB's interfaces, private IPs kept
    elbv2_error_codes: bool = True  # TargetGroupAssociationLimit, ResourceInUse after delete
    regional_dns_names: bool = True  # DNS names as AWS forms them, in the sandbox's region
    attach_rules: bool = True  # zone, device name, VolumeInUse, IncorrectState
    attachment_limits: bool = True  # per instance type
    modification_rate: bool = True  # modifications per volume per window
    rules_per_group: bool = True  # RulesPerSecurityGroupLimitExceeded
    error_codes: bool = True  # AWS's codes where the emulator's differ
    instance_topology: bool = True  # DescribeInstanceTopology (the emulator answers 500)
    classic_descriptions: bool = True  # CLB default health check and AvailabilityZones
    # Observation and control.
    call_log: bool = True
    crash_hooks: bool = True


@dataclass(frozen=True)
class Delays:
    """Seconds a resource spends in each transitional state (AWS: seconds to minutes)."""

    volume_create: float = 0.5
    volume_attach: float = 0.3
    volume_detach: float = 0.3
    volume_modify: float = 0.3  # modifying
    volume_optimize: float = 0.3  # optimizing
    snapshot: float = 0.5
    load_balancer: float = 1.0
    # Capped by the target group's deregistration_delay.timeout_seconds (AWS default 300).
    target_deregistration: float = 1.0
    # AWS: minutes after the ELB is deleted; short here so tests stay fast, benchmarks set
    # a realistic value (bench/reference.py).
    interface_linger: float = 1.0
    # AWS: healthy threshold x interval (90 s by default for an NLB); capped by it here.
    target_health: float = 1.0
    # A deleted load balancer's listeners keep its target groups in use for a while.
    load_balancer_deletion: float = 1.0


@dataclass(frozen=True)
class Limits:
    """Quotas AWS enforces; shortened windows keep tests fast."""

    # AWS before 2026-01: one modification per volume per 6 h; since: four per rolling 24 h.
    modifications_per_window: int = 1
    modification_window: float = 30.0
    rules_per_group: int = 60  # per direction and per IP family, as AWS counts them


@dataclass(frozen=True)
class FaultRule:
    """Fail calls matching `pattern` ("service:Action" glob, e.g. "ec2:Describe*")."""

    pattern: str
    kind: FaultKind
    rate: float = 1.0  # probability per matching call
    clients: str = "*"  # glob on the client id
    status: int = 0  # server_error only: 500 or 503 (0: 500)
    after_apply: bool = False  # server_error only: apply the call, then answer 5xx


@dataclass(frozen=True)
class FidelityConfig:
    enabled: bool = True  # False: requests pass to the emulator untouched
    behaviours: Behaviours = field(default_factory=Behaviours)
    delays: Delays = field(default_factory=Delays)
    limits: Limits = field(default_factory=Limits)
    faults: tuple[FaultRule, ...] = ()
    seed: int = 0  # of the fault dice, so a run is repeatable
    call_log_size: int = 100_000

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["faults"] = [dataclasses.asdict(rule) for rule in self.faults]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FidelityConfig:
        """Missing keys take their defaults; unknown keys and wrong types are errors."""
        config = _build(cls, data, "")
        _validate(config)
        return config

    def merged(self, changes: Mapping[str, Any]) -> FidelityConfig:
        """This config with `changes` merged in (nested objects merge, lists replace)."""
        return FidelityConfig.from_json(_merge(self.to_json(), changes))


def load(path: Path) -> FidelityConfig:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read fidelity config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    return FidelityConfig.from_json(data)


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


T = TypeVar("T")


def _build(cls: type[T], data: Any, path: str) -> T:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path or 'config'}: expected an object")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path or 'config'}: unknown key(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        values[name] = _convert(known[name].type, value, f"{path}{name}")
    try:
        return cls(**values)
    except TypeError as exc:  # a required field (FaultRule.pattern/kind) is missing
        raise ConfigError(f"{path or 'config'}: {exc}") from None


_NESTED: dict[str, type[Any]] = {
    "Behaviours": Behaviours,
    "Delays": Delays,
    "Limits": Limits,
}


def _convert(annotation: Any, value: Any, path: str) -> Any:
    kind = str(annotation)
    if kind in _NESTED:
        return _build(_NESTED[kind], value, f"{path}.")
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{path}: expected a number")
        return float(value)
    if kind in ("str", "FaultKind"):
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string")
        return value
    if kind == "tuple[FaultRule, ...]":
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{path}: expected a list")
        return tuple(_build(FaultRule, item, f"{path}[{i}].") for i, item in enumerate(value))
    raise ConfigError(f"{path}: unsupported field type {kind}")  # pragma: no cover


def _validate(config: FidelityConfig) -> None:
    for f in fields(Delays):
        if getattr(config.delays, f.name) < 0:
            raise ConfigError(f"delays.{f.name}: must not be negative")
    if config.limits.modifications_per_window < 1:
        raise ConfigError("limits.modifications_per_window: must be at least 1")
    if config.limits.modification_window < 0:
        raise ConfigError("limits.modification_window: must not be negative")
    if config.limits.rules_per_group < 1:
        raise ConfigError("limits.rules_per_group: must be at least 1")
    if config.call_log_size < 0:
        raise ConfigError("call_log_size: must not be negative")
    for i, rule in enumerate(config.faults):
        where = f"faults[{i}]"
        if rule.kind not in FAULT_KINDS:
            raise ConfigError(f"{where}.kind: one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= rule.rate <= 1.0:
            raise ConfigError(f"{where}.rate: between 0 and 1")
        if rule.status not in (0, 500, 503):
            raise ConfigError(f"{where}.status: 500 or 503")
        if rule.kind == "throttle" and (rule.status or rule.after_apply):
            raise ConfigError(f"{where}: status and after_apply apply to server_error only")
