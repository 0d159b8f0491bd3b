import pytest

from k8s_aws.config.cloudconfig import CloudConfigError, ignored_settings, parse_cloud_config

FULL = """
; the reference provider's format
[Global]
Zone = us-west-2a
Region = us-west-2
VPC = vpc-123
SubnetID = subnet-1
RouteTableID = rtb-1
RoleARN = arn:aws:iam::123456789012:role/ccm
SourceARN = arn:aws:iam::123456789012:role/src
KubernetesClusterTag = old-name
KubernetesClusterID = prod-1
DisableSecurityGroupIngress = true
ElbSecurityGroup = sg-1
NodeIPFamilies = ipv4
NodeIPFamilies = ipv6
ClusterServiceLoadBalancerHealthProbeMode = Shared
NLBSecurityGroupMode = Managed

[ServiceOverride "1"]
Service = ec2
Region = us-west-2
URL = https://ec2.example.internal
SigningRegion = us-west-2

[ServiceOverride "2"]
Service = elasticloadbalancing
Region = us-west-2
URL = "https://elb.example.internal"
"""


def test_every_reference_key_is_parsed() -> None:
    config = parse_cloud_config(FULL)
    assert config.region == "us-west-2"
    assert config.vpc == "vpc-123"
    assert config.role_arn.endswith(":role/ccm")
    assert config.cluster_name == "prod-1"  # KubernetesClusterID wins over the tag
    assert config.disable_security_group_ingress is True
    assert config.node_ip_families == ("ipv4", "ipv6")
    assert config.health_probe_mode == "Shared"
    assert config.nlb_security_group_mode == "Managed"
    assert [o.service for o in config.overrides] == ["EC2", "elasticloadbalancing"]
    assert config.override_for("elbv2", "us-west-2").url == (  # type: ignore[union-attr]
        "https://elb.example.internal"
    )


def test_keys_are_case_insensitive_as_in_gcfg() -> None:
    config = parse_cloud_config("[global]\nregion = eu-west-1\nkubernetesclustertag = c\n")
    assert config.region == "eu-west-1"
    assert config.cluster_name == "c"


def test_empty_config_gives_defaults() -> None:
    config = parse_cloud_config("")
    assert config.region == "" and config.node_ip_families == ("ipv4",)
    assert config.health_probe_mode == "ServiceNodePort"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[Global]\nRegoin = us-west-2\n",
         "[Global]: unknown key 'regoin'; known: Zone, Region"),
        ("[Global]\nRegion = mars-1\n",
         "[Global] Region: 'mars-1' is not an AWS region name"),
        ("[Global]\nDisableSecurityGroupIngress = maybe\n",
         "DisableSecurityGroupIngress: invalid value 'maybe'; allowed: true, false"),
        ("[Global]\nClusterServiceLoadBalancerHealthProbeMode = Fast\n",
         "invalid value 'Fast'; allowed: ServiceNodePort, Shared"),
        ("[Global]\nNodeIPFamilies = ipv5\n",
         "NodeIPFamilies: invalid value 'ipv5'; allowed: ipv4, ipv6"),
        ("[Global]\nRegion = us-west-2\nRegion = us-east-1\n",
         "Region: given 2 times, allowed once"),
        ("[Globl]\n", "unknown section [Globl]"),
        ('[ServiceOverride "1"]\nService = ec2\nRegion = us-west-2\n',
         '[ServiceOverride "1"]: URL is required'),
        ('[ServiceOverride "1"]\nService = ec2\nRegion = r\nURL = ftp://x\n',
         "must start with http:// or https://"),
        ('[ServiceOverride "1"]\nService = ec2\nRegion = r\nURL = http://x\nColor = red\n',
         "unknown key 'color'"),
        ('[ServiceOverride "1"]\nService = Elastic Load Balancer\nRegion = r\nURL = http://x\n',
         "[ServiceOverride \"1\"] Service: invalid value 'Elastic Load Balancer'; allowed: EC2,"
         " Elastic Load Balancing, Elastic Load Balancing v2, STS, KMS, IAM, ec2imds, ec2,"
         " elasticloadbalancing, sts, kms, iam, ec2metadata"),
        ('[ServiceOverride "1"]\nService = s3\nRegion = r\nURL = http://x\n',
         "Service: invalid value 's3'; allowed: EC2,"),
        ('[ServiceOverride "a"]\nService = EC2\nRegion = r\nURL = http://x\n'
         '[ServiceOverride "b"]\nService = ec2\nRegion = r\nURL = http://y\n',
         "[ServiceOverride \"b\"] Service: 'EC2' in r overrides the same API as"
         " [ServiceOverride \"a\"] ('EC2')"),
        ('[ServiceOverride "a"]\nService = Elastic Load Balancing v2\nRegion = r\nURL = http://x\n'
         '[ServiceOverride "b"]\nService = elasticloadbalancing\nRegion = r\nURL = http://y\n',
         "overrides the same API as [ServiceOverride \"a\"] ('Elastic Load Balancing v2')"),
        ("Region = us-west-2\n", "outside a section"),
        ("[Global]\nKubernetesClusterID = 9 bad\n", "KubernetesClusterID: '9 bad' must match"),
    ],
)
def test_invalid_config_names_the_key_and_allowed_values(text: str, message: str) -> None:
    with pytest.raises(CloudConfigError) as info:
        parse_cloud_config(text)
    assert message in str(info.value)


def test_keys_without_a_feature_are_reported_not_silently_ignored() -> None:
    reasons = ignored_settings(parse_cloud_config(FULL))
    assert any(r.startswith("ElbSecurityGroup:") for r in reasons)
    assert any(r.startswith("RouteTableID:") for r in reasons)
    assert not any(r.startswith("Region") or r.startswith("VPC") for r in reasons)
    assert ignored_settings(parse_cloud_config("[Global]\nRegion = us-west-2\n")) == []


def _override(service: str, url: str, region: str = "us-west-2") -> str:
    return (f'[ServiceOverride "{service}"]\nService = {service}\nRegion = {region}\n'
            f"URL = {url}\nSigningRegion = {region}\n")


@pytest.mark.parametrize(
    ("services", "expected"),
    [
        # The reference v1.37 compares Service with the AWS SDK for Go v2 service ids.
        (("EC2", "Elastic Load Balancing", "Elastic Load Balancing v2"),
         {"ec2": "http://EC2", "elb": "http://Elastic Load Balancing",
          "elbv2": "http://Elastic Load Balancing v2"}),
        (("STS", "KMS", "IAM"), {"sts": "http://STS", "kms": "http://KMS", "iam": "http://IAM"}),
        # Configs of the SDK v1 releases: one elasticloadbalancing id for both ELB APIs.
        (("ec2", "elasticloadbalancing"),
         {"ec2": "http://ec2", "elb": "http://elasticloadbalancing",
          "elbv2": "http://elasticloadbalancing"}),
        (("sts", "kms", "iam"), {"sts": "http://sts", "kms": "http://kms", "iam": "http://iam"}),
        # gcfg values are case-sensitive in the reference; a different case is still meant.
        (("elastic load balancing",), {"elb": "http://elastic load balancing"}),
        # IMDS is no boto3 API endpoint: it is set apart, below.
        (("ec2imds",), {}),
    ],
)
def test_service_override_ids_of_both_sdks_cover_their_boto3_services(
    services: tuple[str, ...], expected: dict[str, str]
) -> None:
    text = "".join(_override(s, f"http://{s}") for s in services)
    text += _override("EC2", "http://elsewhere", region="eu-west-1") if "EC2" in services else ""
    assert parse_cloud_config(text).endpoints("us-west-2") == expected


def test_metadata_override_applies_in_any_region() -> None:
    config = parse_cloud_config(_override("ec2imds", "http://127.0.0.1:1", region="any"))
    found = config.override_for("imds", "us-west-2")
    assert found is not None and found.url == "http://127.0.0.1:1"
    assert config.override_for("ec2", "any") is None


def test_signing_settings_botocore_does_not_take_are_reported() -> None:
    text = (_override("EC2", "http://a") + '[ServiceOverride "2"]\nService = KMS\n'
            "Region = us-west-2\nURL = http://b\nSigningRegion = eu-west-1\nSigningName = x\n")
    assert ignored_settings(parse_cloud_config(text)) == [
        '[ServiceOverride "2"] SigningName: requests are signed with the service\'s own name',
        '[ServiceOverride "2"] SigningRegion: requests are signed for us-west-2',
    ]
