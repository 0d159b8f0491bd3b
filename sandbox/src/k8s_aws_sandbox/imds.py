"""An instance metadata service on 127.0.0.1 with IMDSv2 semantics, for one emulated instance.

Tokens: `PUT /latest/api/token` with `X-aws-ec2-metadata-token-ttl-seconds` (1..21600) issues
one; a GET needs a live token in `X-aws-ec2-metadata-token` or gets 401 (the instance's
`HttpTokens` is `required`); a token PUT carrying `X-Forwarded-For` is refused with 403, as
AWS does. Credentials come from the emulator's STS AssumeRole for the instance profile's role.

Run as `python -m k8s_aws_sandbox.imds --emulator URL --instance-id ID --region R --port P`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from k8s_aws.support import netguard
from k8s_aws_sandbox.metadata import InstanceFacts, Tree, lookup, metadata_tree
from k8s_aws_sandbox.ports import LOOPBACK

TTL_HEADER = "X-aws-ec2-metadata-token-ttl-seconds"
TOKEN_HEADER = "X-aws-ec2-metadata-token"
MAX_TTL = 21600
REFRESH_MARGIN = datetime.timedelta(minutes=10)


class TokenStore:
    """Issued session tokens and their expiry (monotonic clock, injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + ttl
        return token

    def remaining(self, token: str) -> int | None:
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return None
        left = expiry - self._clock()
        return int(left) if left > 0 else None


class RoleCredentials:
    """Credentials for the instance's role, renewed through STS before they expire."""

    def __init__(self, sts: Any, role_arn: str, session_name: str) -> None:
        self._sts = sts
        self._role_arn = role_arn
        self._session_name = session_name
        self._cached: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def document(self) -> str:
        with self._lock:
            now = datetime.datetime.now(datetime.UTC)
            if self._cached is None or self._cached["Expiration"] - now < REFRESH_MARGIN:
                response = self._sts.assume_role(
                    RoleArn=self._role_arn, RoleSessionName=self._session_name
                )
                self._cached = {**response["Credentials"], "LastUpdated": now}
            creds = self._cached
        return json.dumps(
            {
                "Code": "Success",
                "LastUpdated": creds["LastUpdated"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Type": "AWS-HMAC",
                "AccessKeyId": creds["AccessKeyId"],
                "SecretAccessKey": creds["SecretAccessKey"],
                "Token": creds["SessionToken"],
                "Expiration": creds["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            indent=2,
        )


def make_handler(tree: Tree, tokens: TokenStore) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "EC2ws"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(
            self, status: int, body: str = "", headers: dict[str, str] | None = None
        ) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_PUT(self) -> None:
            if self.path.rstrip("/") != "/latest/api/token":
                self._reply(404, "Not Found")
                return
            if self.headers.get("X-Forwarded-For"):
                self._reply(403, "Forbidden")
                return
            raw_ttl = self.headers.get(TTL_HEADER, "")
            if not raw_ttl.isdigit() or not 1 <= int(raw_ttl) <= MAX_TTL:
                self._reply(400, "Bad Request")
                return
            token = tokens.issue(int(raw_ttl))
            self._reply(200, token, {TTL_HEADER: raw_ttl})

        def do_GET(self) -> None:
            remaining = tokens.remaining(self.headers.get(TOKEN_HEADER, ""))
            if remaining is None:
                self._reply(401, "Unauthorized")
                return
            path = self.path.split("?", 1)[0]
            if path.rstrip("/") == "/latest/api/token":
                self._reply(405, "Method Not Allowed")
                return
            text = lookup(tree, path[len("/latest/") :]) if path.startswith("/latest/") else None
            if text is None:
                self._reply(404, "Not Found")
                return
            self._reply(200, text, {TTL_HEADER: str(remaining)})

        def do_POST(self) -> None:
            self._reply(405, "Method Not Allowed")

        do_DELETE = do_POST

    return Handler


def read_facts(session: boto3.session.Session, endpoint: str, instance_id: str) -> InstanceFacts:
    ec2 = session.client("ec2", endpoint_url=endpoint)
    iam = session.client("iam", endpoint_url=endpoint)
    sts = session.client("sts", endpoint_url=endpoint)
    inst = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    zone = inst["Placement"]["AvailabilityZone"]
    zone_ids = {
        z["ZoneName"]: z["ZoneId"]
        for z in ec2.describe_availability_zones()["AvailabilityZones"]
    }
    subnet = ec2.describe_subnets(SubnetIds=[inst["SubnetId"]])["Subnets"][0]
    vpc = ec2.describe_vpcs(VpcIds=[inst["VpcId"]])["Vpcs"][0]
    eni = inst["NetworkInterfaces"][0]
    profile_arn = inst.get("IamInstanceProfile", {}).get("Arn")
    role_name = None
    if profile_arn:
        profile = iam.get_instance_profile(InstanceProfileName=profile_arn.rsplit("/", 1)[1])
        roles = profile["InstanceProfile"]["Roles"]
        role_name = roles[0]["RoleName"] if roles else None
    return InstanceFacts(
        instance_id=instance_id,
        instance_type=inst["InstanceType"],
        image_id=inst["ImageId"],
        region=session.region_name,
        zone=zone,
        zone_id=zone_ids.get(zone, ""),
        private_ip=inst["PrivateIpAddress"],
        private_dns=inst["PrivateDnsName"],
        mac=eni["MacAddress"],
        interface_id=eni["NetworkInterfaceId"],
        subnet_id=subnet["SubnetId"],
        subnet_cidr=subnet["CidrBlock"],
        vpc_id=vpc["VpcId"],
        vpc_cidr=vpc["CidrBlock"],
        security_group_ids=tuple(g["GroupId"] for g in inst["SecurityGroups"]),
        security_group_names=tuple(g["GroupName"] for g in inst["SecurityGroups"]),
        account_id=sts.get_caller_identity()["Account"],
        role_name=role_name,
        profile_arn=profile_arn,
        launch_time=inst["LaunchTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def serve(endpoint: str, instance_id: str, region: str, port: int) -> None:
    # The IMDS itself reads the emulator with the emulator's root credentials, as the real
    # IMDS reads EC2's own records; it never asks an IMDS (that would be itself).
    session = boto3.session.Session(region_name=region)  # the sandbox's keys, from env
    facts = read_facts(session, endpoint, instance_id)
    role_arn = f"arn:aws:iam::{facts.account_id}:role/{facts.role_name}"
    credentials = RoleCredentials(
        session.client("sts", endpoint_url=endpoint), role_arn, instance_id
    )
    tree = metadata_tree(facts, credentials.document)
    server = ThreadingHTTPServer((LOOPBACK, port), make_handler(tree, TokenStore()))
    server.daemon_threads = True
    server.serve_forever()


def main() -> None:
    netguard.install_if_requested()
    parser = argparse.ArgumentParser(prog="k8s-aws-imds")
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--instance-id", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    serve(args.emulator, args.instance_id, args.region, args.port)


if __name__ == "__main__":
    main()
