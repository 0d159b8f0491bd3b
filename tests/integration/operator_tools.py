"""The operator's seat for `setup`, `doctor` and `gc`: an IAM user holding only the generated
operator policy (what IAM enforcement checks under `make test-iam`), and the CLI run with
its keys as a workstation would, never with the sandbox's administrator."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any

from k8s_aws.cloud import operations
from k8s_aws.ops.iam_policy import PolicyRequest, generate, granted_actions
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .conftest import CLI, DENIALS, OPS_CLUSTER, emulator_session

CLUSTER = OPS_CLUSTER
KEY = f"kubernetes.io/cluster/{CLUSTER}"  # ops_sandbox's cluster tag


@dataclass(frozen=True)
class Operator:
    state: SandboxState
    key: str
    secret: str

    def env(self, imds: bool = False, credentials: bool = True) -> dict[str, str]:
        """A workstation's environment (no IMDS), or a control VM's with `imds`."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({
            "AWS_ENDPOINT_URL": self.state.emulator_url,
            "AWS_REGION": self.state.region,
            "K8S_AWS_LOOPBACK_ONLY": "1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        })
        if imds:
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = self.state.imds_url + "/"
            env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = "IPv4"
        else:
            env["AWS_EC2_METADATA_DISABLED"] = "true"
        if credentials:
            env["AWS_ACCESS_KEY_ID"] = self.key
            env["AWS_SECRET_ACCESS_KEY"] = self.secret
        return env

    def run(self, *args: str, imds: bool = False, credentials: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                              check=False, env=self.env(imds, credentials))

    def calls(self, tool: str, since: int = 0) -> list[Any]:
        return [c for c in FidelityControl(self.state.emulator_url).calls(since=since)
                if c.client == f"k8s-aws-{tool}"]


def assert_declared_and_never_denied(operator: Operator, tool: str) -> None:
    """Every call the tool made is declared for it in cloud.operations, granted by the
    operator policy, and (under `make test-iam`) was not denied."""
    declared = {op.action for op in operations.for_tools((tool,))}
    granted = granted_actions(generate(PolicyRequest(operator.state.cluster, role="operator")))
    calls = operator.calls(tool)
    assert calls, f"k8s-aws {tool} made no AWS call"
    for call in calls:
        action = f"{operations.IAM_PREFIX.get(call.service, call.service)}:{call.action}"
        assert action in declared and action in granted, call
        assert call.error not in DENIALS, call


def last_call_seq(state: SandboxState) -> int:
    calls = FidelityControl(state.emulator_url).calls()
    return max((c.seq for c in calls), default=0)


def make_operator(state: SandboxState) -> Operator:
    """A user with the operator policy (tag conditions left out: the emulator cannot
    evaluate them, as for the controllers' policy)."""
    iam = emulator_session(state).client("iam", endpoint_url=state.emulator_url)
    name = f"k8s-aws-operator-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    policy = generate(PolicyRequest(cluster=state.cluster, role="operator", conditions=False))
    iam.put_user_policy(UserName=name, PolicyName="k8s-aws-operator",
                        PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Operator(state, key["AccessKeyId"], key["SecretAccessKey"])


def admin_client(state: SandboxState, service: str) -> Any:
    session: Any = emulator_session(state)
    return session.client(service, endpoint_url=state.emulator_url)
