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
    assert [o.service for o in config.overrides] == ["ec2", "elasticloadbalancing"]
    assert config.override_for("elasticloadbalancing", "us-west-2").url == (  # type: ignore[union-attr]
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
