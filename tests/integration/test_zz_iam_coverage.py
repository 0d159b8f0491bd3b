"""Runs last in the integration session (named to sort last): every AWS call k8s-aws made in
this session is declared in `cloud.operations` and granted by the generated policy."""

from __future__ import annotations

import json

from k8s_aws.cloud import operations
from k8s_aws.ops.iam_policy import PolicyRequest, generate, granted_actions
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .conftest import DENIALS


def _policy_actions(cluster: str) -> set[str]:
    return granted_actions(generate(PolicyRequest(cluster=cluster)))


def test_every_call_the_controllers_logged_is_declared_and_granted(
    sandbox: SandboxState,
) -> None:
    seen: set[tuple[str, str]] = set()
    for log in sorted((sandbox.root / "calls").glob("*.jsonl")):
        for line in log.read_text().splitlines():
            record = json.loads(line)
            seen.add((record["service"], record["operation"]))
    assert seen, "the controllers logged no AWS call: nothing proves the policy"
    assert seen - operations.declared() == set()
    actions = {f"{operations.IAM_PREFIX[s]}:{op}" for s, op in seen}
    assert actions - _policy_actions("itest") == set()


OPERATOR_CLIENTS = frozenset(f"k8s-aws-{tool}" for tool in operations.OPERATOR_TOOLS)


def test_every_call_k8s_aws_clients_made_at_the_emulator_is_granted(
    sandbox: SandboxState,
) -> None:
    calls = [c for c in FidelityControl(sandbox.emulator_url).calls()
             if c.client.startswith("k8s-aws") and c.client not in OPERATOR_CLIENTS]
    assert calls, "the emulator saw no call from a k8s-aws client"
    declared = {op.action for op in operations.OPERATIONS}
    granted = _policy_actions("itest") | {"sts:AssumeRole"}
    actions = {f"{operations.IAM_PREFIX.get(c.service, c.service)}:{c.action}" for c in calls}
    assert actions - granted == set()
    assert actions - declared - {"sts:AssumeRole"} == set()


def test_every_call_the_operator_tools_made_is_declared_for_the_tool_and_granted(
    sandbox: SandboxState,
) -> None:
    """`setup`, `doctor` and `gc` hold the operator policy, never the controllers'."""
    operator = granted_actions(generate(PolicyRequest(cluster="itest", role="operator")))
    calls = [c for c in FidelityControl(sandbox.emulator_url).calls()
             if c.client in OPERATOR_CLIENTS]
    assert calls, "no operator tool called AWS on this sandbox (test_operator_setup does)"
    for call in calls:
        tool = call.client.removeprefix("k8s-aws-")
        action = f"{operations.IAM_PREFIX.get(call.service, call.service)}:{call.action}"
        assert action in {op.action for op in operations.for_tools((tool,))}, call
        assert action in operator, call


def test_no_k8s_aws_client_was_denied(sandbox: SandboxState) -> None:
    """Under `make test-iam` the controllers hold only the generated policy: this is where a
    missing permission shows. (Without enforcement it holds trivially.)"""
    calls = [c for c in FidelityControl(sandbox.emulator_url).calls()
             if c.client.startswith("k8s-aws")]
    denied = sorted({f"{c.client} {c.service}:{c.action} {c.error}" for c in calls
                     if c.error in DENIALS})
    assert denied == [], f"denied: {denied}"
    if sandbox.iam_enforced:
        assert len(calls) > 100, "too few calls under enforcement to prove the policy"
