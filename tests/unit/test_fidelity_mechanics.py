"""The layer's machinery: emulator time, fault dice, the call log, crash hooks."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aws_sandbox.fidelity.calllog import CallLog, CallRecord, to_json_lines
from k8s_aws_sandbox.fidelity.config import FaultRule
from k8s_aws_sandbox.fidelity.crash import CrashHooks
from k8s_aws_sandbox.fidelity.faults import FaultDice, fault_refusal
from k8s_aws_sandbox.fidelity.request import AwsRequest
from k8s_aws_sandbox.fidelity.timeline import Clock, Timeline


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_clock_follows_its_source_and_skips_ahead() -> None:
    source = FakeTime()
    clock = Clock(source)
    assert clock.now() == 100.0
    assert clock.advance(5) == 105.0
    source.now = 101.0
    assert clock.now() == 106.0
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_steps_run_once_when_due_in_order() -> None:
    timeline, ran = Timeline(), []
    timeline.at(20.0, lambda: ran.append("b"), "b")
    timeline.at(10.0, lambda: ran.append("a"), "a")
    timeline.at(20.0, lambda: ran.append("c"), "c")
    assert timeline.run_due(9.9) == 0
    assert timeline.pending() == [(10.0, "a"), (20.0, "b"), (20.0, "c")]
    assert timeline.run_due(20.0) == 3
    assert ran == ["a", "b", "c"]
    assert timeline.run_due(100.0) == 0


def test_a_failing_step_does_not_stop_the_others() -> None:
    timeline, ran = Timeline(), []

    def broken() -> None:
        raise RuntimeError("gone")

    timeline.at(1.0, broken, "broken")
    timeline.at(2.0, lambda: ran.append("ok"), "ok")
    assert timeline.run_due(5.0) == 2
    assert ran == ["ok"]


def request(operation: str, client: str = "manager") -> AwsRequest:
    service, action = operation.split(":")
    return AwsRequest(service, action, {}, client, "AKID", "us-west-2", "ec2")


def test_fault_patterns_and_clients() -> None:
    dice = FaultDice()
    rules = (FaultRule("ec2:Describe*", "throttle", clients="k8s-*"),
             FaultRule("elbv2:*", "server_error"))
    assert dice.pick(request("ec2:DescribeVolumes", "k8s-aws-csi"), rules) == rules[0]
    assert dice.pick(request("ec2:DescribeVolumes", "other"), rules) is None
    assert dice.pick(request("ec2:CreateVolume", "k8s-aws-csi"), rules) is None
    assert dice.pick(request("elbv2:CreateListener"), rules) == rules[1]


def test_fault_dice_repeat_with_the_seed() -> None:
    rules = (FaultRule("*", "throttle", rate=0.3),)
    dice = FaultDice(5)
    rolls = [dice.pick(request("ec2:X"), rules) is not None for _ in range(200)]
    dice.reseed(5)
    assert [dice.pick(request("ec2:X"), rules) is not None for _ in range(200)] == rolls
    assert 30 < rolls.count(True) < 90
    never = (FaultRule("*", "throttle", rate=0.0),)
    assert all(dice.pick(request("ec2:X"), never) is None for _ in range(100))


@pytest.mark.parametrize(
    ("service", "kind", "status", "expected"),
    [
        ("ec2", "throttle", 0, ("RequestLimitExceeded", 503)),
        ("elb", "throttle", 0, ("Throttling", 400)),
        ("elbv2", "throttle", 0, ("Throttling", 400)),
        ("ec2", "server_error", 0, ("InternalError", 500)),
        ("ec2", "server_error", 503, ("Unavailable", 503)),
        ("elbv2", "server_error", 500, ("InternalFailure", 500)),
        ("elb", "server_error", 503, ("ServiceUnavailable", 503)),
    ],
)
def test_fault_codes(service: str, kind: Any, status: int, expected: tuple[str, int]) -> None:
    refusal = fault_refusal(service, FaultRule("*", kind, status=status))
    assert (refusal.code, refusal.status) == expected


def record(log: CallLog, client: str) -> CallRecord:
    return CallRecord(log.next_seq(), 0.0, client, "ec2", "DescribeVolumes", False, 200, None,
                      "emulator", False, 1.0, "us-west-2")


def test_the_call_log_filters_and_forgets_the_oldest() -> None:
    log = CallLog(size=3)
    for client in ("a", "b", "a", "b"):
        log.add(record(log, client))
    assert [r.seq for r in log.select()] == [2, 3, 4]
    assert [r.seq for r in log.select(client="a")] == [3]
    assert [r.seq for r in log.select(since=3)] == [4]
    assert to_json_lines(log.select(since=3)).count("\n") == 1
    log.resize(1)
    assert [r.seq for r in log.select()] == [4]
    log.clear()
    assert log.select() == []


def test_crash_hooks_count_per_client_and_fire_once() -> None:
    killed: list[int] = []
    hooks = CrashHooks(kill=killed.append)
    hook = hooks.add("manager", after_mutations=2, pid=4242)
    assert hooks.applied("driver", "ec2:CreateVolume") == []
    assert hooks.applied("manager", "ec2:CreateVolume") == []
    assert hooks.applied("manager", "ec2:AttachVolume") == [hook]
    assert hooks.applied("manager", "ec2:DeleteVolume") == []
    assert killed == [4242]
    assert (hook.seen, hook.fired_on, hook.calls) == (
        2, "ec2:AttachVolume", ["ec2:CreateVolume", "ec2:AttachVolume"])


def test_a_failed_kill_is_reported() -> None:
    def gone(pid: int) -> None:
        raise ProcessLookupError(3, "No such process")

    hooks = CrashHooks(kill=gone)
    hook = hooks.add("manager", after_mutations=1, pid=4242)
    hooks.applied("manager", "ec2:CreateVolume")
    assert hook.fired and hook.error is not None and "No such process" in hook.error


def test_hooks_need_a_count_and_a_real_pid() -> None:
    hooks = CrashHooks(kill=lambda pid: None)
    with pytest.raises(ValueError):
        hooks.add("manager", after_mutations=0, pid=4242)
    with pytest.raises(ValueError):
        hooks.add("manager", after_mutations=1, pid=1)
