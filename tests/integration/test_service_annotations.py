"""The annotation table, case by case, on the sandbox: each annotation's effect is read back
from the emulated AWS account."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState

from .conftest import emulator_session, kubectl
from .test_service_clb import apply_service, describe_lb, hostname, lb_name, service

Check = Callable[[dict[str, Any]], None]


class Aws:
    def __init__(self, sandbox: SandboxState) -> None:
        session = emulator_session(sandbox)
        self.sandbox = sandbox
        self.elb = session.client("elb", endpoint_url=sandbox.emulator_url)
        self.ec2 = session.client("ec2", endpoint_url=sandbox.emulator_url)
        self.iam = session.client("iam", endpoint_url=sandbox.emulator_url)

    def attributes(self, name: str) -> dict[str, Any]:
        return dict(self.elb.describe_load_balancer_attributes(
            LoadBalancerName=name)["LoadBalancerAttributes"])

    def groups(self, lb: dict[str, Any]) -> list[dict[str, Any]]:
        groups: Any = self.ec2.describe_security_groups(GroupIds=lb["SecurityGroups"])
        return list(groups["SecurityGroups"])

    def subnets(self, kind: str) -> set[str]:
        return {sid for n, sid in self.sandbox.world.subnets.items() if f"-{kind}-" in n}


@pytest.fixture(scope="module")
def aws(sandbox: SandboxState) -> Aws:
    return Aws(sandbox)


@pytest.fixture(scope="module")
def certificate(aws: Aws) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.example")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    uploaded = aws.iam.upload_server_certificate(
        ServerCertificateName="shop",
        CertificateBody=cert.public_bytes(serialization.Encoding.PEM).decode(),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode(),
    )
    return str(uploaded["ServerCertificateMetadata"]["Arn"])


@pytest.fixture(scope="module")
def user_group(aws: Aws) -> str:
    group = aws.ec2.create_security_group(GroupName="user-extra", Description="a user's",
                                          VpcId=aws.sandbox.world.vpc_id)["GroupId"]
    aws.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 9000, "ToPort": 9000,
         "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])
    return str(group)


CASES: list[tuple[str, dict[str, str], Callable[[Aws, dict[str, Any], dict[str, Any]], None]]] = [
    ("internal", {"internal": "true"},
     lambda aws, lb, svc: _eq((lb["Scheme"], set(lb["Subnets"])),
                              ("internal", aws.subnets("private")))),
    ("cross-zone", {"cross-zone-load-balancing-enabled": "true"},
     lambda aws, lb, svc: _eq(aws.attributes(lb["LoadBalancerName"])["CrossZoneLoadBalancing"],
                              {"Enabled": True})),
    ("draining", {"connection-draining-enabled": "true", "connection-draining-timeout": "30"},
     lambda aws, lb, svc: _eq(aws.attributes(lb["LoadBalancerName"])["ConnectionDraining"],
                              {"Enabled": True, "Timeout": 30})),
    ("idle-timeout", {"connection-idle-timeout": "300"},
     lambda aws, lb, svc: _eq(aws.attributes(lb["LoadBalancerName"])["ConnectionSettings"],
                              {"IdleTimeout": 300})),
    ("access-logs", {"access-log-enabled": "true", "access-log-s3-bucket-name": "elb-logs",
                     "access-log-emit-interval": "5", "access-log-s3-bucket-prefix": "shop"},
     lambda aws, lb, svc: _sub(aws.attributes(lb["LoadBalancerName"])["AccessLog"],
                               {"Enabled": True, "S3BucketName": "elb-logs", "EmitInterval": 5,
                                "S3BucketPrefix": "shop"})),
    ("proxy-protocol", {"proxy-protocol": "*"},
     lambda aws, lb, svc: _eq(
         [(b["InstancePort"], b["PolicyNames"]) for b in lb["BackendServerDescriptions"]],
         [(svc["spec"]["ports"][0]["nodePort"], ["k8s-proxyprotocol-enabled"])])),
    ("health-check", {"healthcheck-protocol": "HTTP", "healthcheck-path": "/ready",
                      "healthcheck-port": "31999", "healthcheck-interval": "15",
                      "healthcheck-timeout": "4", "healthcheck-healthy-threshold": "3",
                      "healthcheck-unhealthy-threshold": "5"},
     lambda aws, lb, svc: _eq(lb["HealthCheck"], {
         "Target": "HTTP:31999/ready", "Interval": 15, "Timeout": 4, "HealthyThreshold": 3,
         "UnhealthyThreshold": 5})),
    ("backend-protocol", {"backend-protocol": "http"},
     lambda aws, lb, svc: _eq(
         [(d["Listener"]["Protocol"], d["Listener"]["InstanceProtocol"])
          for d in lb["ListenerDescriptions"]], [("HTTP", "HTTP")])),
    ("additional-tags", {"additional-resource-tags": "team=shop,cost-center=42"},
     lambda aws, lb, svc: _sub(
         {t["Key"]: t["Value"] for t in aws.elb.describe_tags(
             LoadBalancerNames=[lb["LoadBalancerName"]])["TagDescriptions"][0]["Tags"]},
         {"team": "shop", "cost-center": "42"})),
    ("subnets-by-name", {"subnets": "itest-public-us-west-2a,itest-public-us-west-2b"},
     lambda aws, lb, svc: _eq(set(lb["Subnets"]), {
         aws.sandbox.world.subnets["itest-public-us-west-2a"],
         aws.sandbox.world.subnets["itest-public-us-west-2b"]})),
]


def _eq(actual: Any, expected: Any) -> None:
    assert actual == expected


def _sub(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: actual.get(k) for k in expected} == expected


def create(sandbox: SandboxState, name: str, annotations: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    svc = apply_service(sandbox, name, annotations)
    wait_until(lambda: hostname(sandbox, name), timeout=60, what=f"{name} hostname")
    lb = describe_lb(Aws(sandbox).elb, lb_name(svc))
    assert lb is not None
    return svc, lb


def remove(sandbox: SandboxState, name: str) -> None:
    kubectl(sandbox, "delete", "service", name, "--wait=false")
    wait_until(lambda: service(sandbox, name) is None, timeout=90, what=f"{name} deleted")


@pytest.mark.parametrize(("case", "annotations", "check"), CASES, ids=[c[0] for c in CASES])
def test_annotation(
    sandbox: SandboxState, aws: Aws, case: str, annotations: dict[str, str],
    check: Callable[[Aws, dict[str, Any], dict[str, Any]], None],
) -> None:
    svc, lb = create(sandbox, f"ann-{case}", annotations)
    check(aws, lb, svc)
    remove(sandbox, f"ann-{case}")


def test_ssl_certificate_ports_and_negotiation_policy(
    sandbox: SandboxState, aws: Aws, certificate: str
) -> None:
    manifest_ports = [("http", 80), ("https", 443)]
    svc = apply_service(sandbox, "ann-ssl", {
        "ssl-cert": certificate, "ssl-ports": "https",
        "ssl-negotiation-policy": "ELBSecurityPolicy-TLS-1-2-2017-01"}, ports=manifest_ports)
    wait_until(lambda: hostname(sandbox, "ann-ssl"), timeout=60, what="ann-ssl hostname")
    lb = describe_lb(aws.elb, lb_name(svc))
    assert lb is not None
    listeners = {d["Listener"]["LoadBalancerPort"]: d for d in lb["ListenerDescriptions"]}
    assert listeners[443]["Listener"]["Protocol"] == "SSL"
    assert listeners[443]["Listener"]["SSLCertificateId"] == certificate
    assert listeners[443]["PolicyNames"] == [
        "k8s-SSLNegotiationPolicy-ELBSecurityPolicy-TLS-1-2-2017-01"]
    assert listeners[80]["Listener"]["Protocol"] == "TCP"
    remove(sandbox, "ann-ssl")


def test_extra_and_own_security_groups_are_used_never_modified(
    sandbox: SandboxState, aws: Aws, user_group: str
) -> None:
    before = aws.ec2.describe_security_groups(GroupIds=[user_group])["SecurityGroups"][0]
    svc, lb = create(sandbox, "ann-extra", {"extra-security-groups": user_group})
    names = {g["GroupName"] for g in aws.groups(lb)}
    assert names == {"user-extra", f"k8s-elb-{lb_name(svc)}", "k8s-aws-itest-lb-backends"}
    _, lb2 = create(sandbox, "ann-own", {"security-groups": user_group})
    assert {g["GroupName"] for g in aws.groups(lb2)} == {"user-extra",
                                                          "k8s-aws-itest-lb-backends"}
    remove(sandbox, "ann-extra")
    remove(sandbox, "ann-own")
    after = aws.ec2.describe_security_groups(GroupIds=[user_group])["SecurityGroups"][0]
    assert after["IpPermissions"] == before["IpPermissions"]
    assert after.get("Tags", []) == before.get("Tags", [])


def test_target_node_labels_choose_the_backends(sandbox: SandboxState, aws: Aws) -> None:
    nodes = kubectl(sandbox, "get", "nodes", "-o", "name").split()
    kubectl(sandbox, "label", "--overwrite", nodes[0], "pool=edge")
    svc, _ = create(sandbox, "ann-labels", {"target-node-labels": "pool=edge"})
    node = kubectl(sandbox, "get", nodes[0], "-o", "jsonpath={.spec.providerID}")
    wanted = [node.rsplit("/", 1)[1]]

    def backends() -> list[str]:
        lb = describe_lb(aws.elb, lb_name(svc)) or {}
        return [i["InstanceId"] for i in lb.get("Instances", [])]

    # The label and the Service come on different watches, in no guaranteed order: the
    # controller may first see the Service with no matching node, then register it.
    wait_until(lambda: backends() == wanted, timeout=60,
               what=f"only {wanted[0]} behind the load balancer")
    remove(sandbox, "ann-labels")
    kubectl(sandbox, "label", nodes[0], "pool-")
