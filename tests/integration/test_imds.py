"""The sandbox IMDS serves the control VM consistently with the emulator, and its role
credentials work against the emulator, end to end through botocore's credential chain."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from k8s_aws_sandbox.state import SandboxState

from .conftest import aws_env


def get(state: SandboxState, path: str, token: str | None) -> tuple[int, str]:
    headers = {"X-aws-ec2-metadata-token": token} if token else {}
    request = urllib.request.Request(state.imds_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, ""


def new_token(state: SandboxState) -> str:
    request = urllib.request.Request(
        state.imds_url + "/latest/api/token", method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return str(response.read().decode())


def control_vm(state: SandboxState, ec2: Any) -> dict[str, Any]:
    reservations = ec2.describe_instances(InstanceIds=[state.world.control_instance])
    return dict(reservations["Reservations"][0]["Instances"][0])


def test_get_without_token_is_refused(sandbox: SandboxState) -> None:
    assert get(sandbox, "/latest/meta-data/instance-id", None)[0] == 401


def test_metadata_matches_the_emulated_instance(sandbox: SandboxState, ec2: Any) -> None:
    token = new_token(sandbox)
    vm = control_vm(sandbox, ec2)
    eni = vm["NetworkInterfaces"][0]

    def meta(path: str) -> str:
        status, body = get(sandbox, "/latest/meta-data/" + path, token)
        assert status == 200, path
        return body

    assert meta("instance-id") == vm["InstanceId"]
    assert meta("placement/availability-zone") == vm["Placement"]["AvailabilityZone"]
    assert meta("placement/availability-zone/") == vm["Placement"]["AvailabilityZone"]
    assert meta("placement/region") == sandbox.region
    assert meta("local-hostname") == vm["PrivateDnsName"]
    assert meta("local-ipv4") == vm["PrivateIpAddress"]
    assert meta("mac") == eni["MacAddress"]
    assert meta("network/interfaces/macs/") == eni["MacAddress"] + "/"
    iface = f"network/interfaces/macs/{eni['MacAddress']}/"
    assert meta(iface + "subnet-id") == vm["SubnetId"]
    assert meta(iface + "vpc-id") == vm["VpcId"]
    assert meta(iface + "interface-id") == eni["NetworkInterfaceId"]
    assert meta("iam/security-credentials/") == f"{sandbox.cluster}-control"
    status, document = get(sandbox, "/latest/dynamic/instance-identity/document", token)
    assert status == 200
    identity = json.loads(document)
    assert identity["instanceId"] == vm["InstanceId"]
    assert identity["region"] == sandbox.region


CHAIN_PROBE = """
import json, boto3
session = boto3.session.Session()
creds = session.get_credentials()
sts = session.client("sts")
ec2 = session.client("ec2")
reservations = ec2.describe_instances()["Reservations"]
print(json.dumps({
    "method": creds.method,
    "region": session.region_name,
    "arn": sts.get_caller_identity()["Arn"],
    "vpcs": sorted({i["VpcId"] for r in reservations for i in r["Instances"]}),
}))
"""


def test_aws_env_gives_instance_profile_credentials_the_emulator_accepts(
    sandbox: SandboxState,
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHAIN_PROBE], env=aws_env(sandbox),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout)
    assert probe["method"] == "iam-role"
    assert probe["region"] == sandbox.region
    role = f"{sandbox.cluster}-control"
    assert probe["arn"].endswith(f":assumed-role/{role}/{sandbox.world.control_instance}")
    assert sandbox.world.vpc_id in probe["vpcs"]
