"""`k8s-aws doctor`'s AWS reads: who the credentials are, IMDSv2 and the instance profile's
own credentials, the nodes' instances (profile, IMDS options, groups), their groups' tags,
the policies granted to a profile's role, and BOSH-made disks carrying the cluster tag."""

from __future__ import annotations

import functools
import json
import urllib.parse
from typing import Any, cast

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import InstanceMetadataProvider
from botocore.utils import InstanceMetadataFetcher, resolve_imds_endpoint_mode

from k8s_aws.cloud.errors import CloudError, NotFound
from k8s_aws.cloud.iam_setup import read_profile
from k8s_aws.cloud.operator_session import call, tags_of
from k8s_aws.cloud.session import AwsClients
from k8s_aws.model.cluster_tag import OWNED, cluster_tag_key
from k8s_aws.model.doctor import InstanceFacts, ProfilePolicies

# The app id names the client in the emulator's call log (session.py sets it the same way).
DOCTOR_CONFIG = Config(**cast(Any, {"user_agent_appid": "k8s-aws-doctor"}))



def caller_identity(sts: Any) -> str:
    return str(call("sts", "GetCallerIdentity", sts.get_caller_identity)["Arn"])


def profile_identity(region: str, endpoint: str | None) -> str:
    """The instance profile's credentials from IMDSv2, checked with GetCallerIdentity (which
    AWS never denies); raises CloudError when IMDS gives none."""
    session = botocore.session.get_session()
    config = {
        "ec2_metadata_service_endpoint": session.get_config_variable(
            "ec2_metadata_service_endpoint"),
        "ec2_metadata_service_endpoint_mode": resolve_imds_endpoint_mode(session),
    }
    fetcher = InstanceMetadataFetcher(timeout=1, num_attempts=2, config=config)
    credentials = InstanceMetadataProvider(iam_role_fetcher=fetcher).load()
    if credentials is None:
        raise NotFound("the instance metadata service gives no instance profile credentials")
    frozen = credentials.get_frozen_credentials()
    sts: Any = boto3.session.Session(
        aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
        aws_session_token=frozen.token, region_name=region,
    ).client("sts", endpoint_url=endpoint, config=DOCTOR_CONFIG)
    return caller_identity(sts)


def instances(ec2: Any, ids: list[str]) -> dict[str, InstanceFacts]:
    if not ids:
        return {}
    wanted = [{"Name": "instance-id", "Values": sorted(set(ids))}]
    pages = ec2.get_paginator("describe_instances")
    raw = call("ec2", "DescribeInstances", lambda: [
        i for page in pages.paginate(Filters=wanted) for r in page["Reservations"]
        for i in r["Instances"]])
    return {i["InstanceId"]: InstanceFacts(
        id=i["InstanceId"], zone=i.get("Placement", {}).get("AvailabilityZone", ""),
        vpc_id=i.get("VpcId", ""), tags=tags_of(i.get("Tags")),
        security_groups=tuple(g["GroupId"] for g in i.get("SecurityGroups", [])),
        profile_arn=i.get("IamInstanceProfile", {}).get("Arn", ""),
        hop_limit=int(i.get("MetadataOptions", {}).get("HttpPutResponseHopLimit", 1)),
        http_tokens=str(i.get("MetadataOptions", {}).get("HttpTokens", "optional")),
    ) for i in raw}


def group_tags(ec2: Any, ids: set[str]) -> dict[str, tuple[tuple[str, str], ...]]:
    if not ids:
        return {}
    wanted = [{"Name": "group-id", "Values": sorted(ids)}]
    raw = call("ec2", "DescribeSecurityGroups",
               lambda: ec2.describe_security_groups(Filters=wanted)["SecurityGroups"])
    return {g["GroupId"]: tags_of(g.get("Tags")) for g in raw}


def bosh_disks(ec2: Any, cluster: str) -> tuple[str, ...]:
    """Volumes tagged `owned` for the cluster without an identity tag: BOSH's own disks,
    which only the identity tags keep safe from a careless clean-up."""
    owned = [{"Name": f"tag:{cluster_tag_key(cluster)}", "Values": [OWNED]}]
    raw = call("ec2", "DescribeVolumes",
               lambda: ec2.describe_volumes(Filters=owned)["Volumes"])
    return tuple(sorted(v["VolumeId"] for v in raw
                        if "CSIVolumeName" not in {t["Key"] for t in v.get("Tags", [])}))


def _document(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        return dict(json.loads(urllib.parse.unquote(raw)))
    return dict(raw)


def _role_documents(iam: Any, role: str) -> tuple[dict[str, Any], ...]:
    documents = []
    attached = call("iam", "ListAttachedRolePolicies",
                    lambda: iam.list_attached_role_policies(RoleName=role))["AttachedPolicies"]
    for policy in attached:
        arn = policy["PolicyArn"]
        version = call("iam", "GetPolicy", functools.partial(
            iam.get_policy, PolicyArn=arn))["Policy"]["DefaultVersionId"]
        body = call("iam", "GetPolicyVersion", functools.partial(
            iam.get_policy_version, PolicyArn=arn, VersionId=version))["PolicyVersion"]["Document"]
        documents.append(_document(body))
    names = call("iam", "ListRolePolicies",
                 lambda: iam.list_role_policies(RoleName=role))["PolicyNames"]
    for name in names:
        body = call("iam", "GetRolePolicy", functools.partial(
            iam.get_role_policy, RoleName=role, PolicyName=name))["PolicyDocument"]
        documents.append(_document(body))
    return tuple(documents)


def profile_policies(aws: AwsClients, profile: str) -> ProfilePolicies:
    """By name or ARN; an error (a denied read, a missing profile) is reported, not raised."""
    name = profile.rsplit("/", 1)[-1]
    iam = aws.client("iam")
    try:
        found = read_profile(iam, name)
        if found is None:
            return ProfilePolicies(name, "", (), f"instance profile {name} does not exist")
        if not found.roles:
            return ProfilePolicies(name, "", (), "")
        return ProfilePolicies(name, found.roles[0], _role_documents(iam, found.roles[0]))
    except CloudError as exc:
        return ProfilePolicies(name, "", (), str(exc))
