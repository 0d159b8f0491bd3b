import pytest

from k8s_aws.loadbalancer.annotations import PREFIX, InvalidAnnotations, parse_annotations


def parse(**values: str):  # type: ignore[no-untyped-def]
    return parse_annotations({PREFIX + k.replace("_", "-"): v for k, v in values.items()})


def test_defaults() -> None:
    s = parse_annotations({})
    assert (s.lb_type, s.internal, s.cross_zone, s.idle_timeout) == ("classic", False, False, 60)
    assert s.ssl_ports is None and s.security_groups == ()


@pytest.mark.parametrize(
    ("values", "check"),
    [
        ({"internal": "true"}, lambda s: s.internal),
        ({"internal": "0.0.0.0/0"}, lambda s: s.internal),  # any non-empty value but "false"
        ({"internal": "false"}, lambda s: not s.internal),
        ({"type": "nlb"}, lambda s: s.lb_type == "nlb"),
        ({"type": "external"}, lambda s: s.lb_type == "external"),
        ({"cross_zone_load_balancing_enabled": "true"}, lambda s: s.cross_zone),
        ({"connection_draining_enabled": "true", "connection_draining_timeout": "30"},
         lambda s: s.draining_enabled and s.draining_timeout == 30),
        ({"connection_idle_timeout": "120"}, lambda s: s.idle_timeout == 120),
        ({"access_log_enabled": "true", "access_log_s3_bucket_name": "logs",
          "access_log_emit_interval": "5", "access_log_s3_bucket_prefix": "p"},
         lambda s: s.access_logs.enabled and s.access_logs.emit_interval == 5),
        ({"proxy_protocol": "*"}, lambda s: s.proxy_protocol),
        ({"ssl_cert": "arn:aws:acm:us-west-2:1:certificate/x", "ssl_ports": "443,https"},
         lambda s: s.ssl_ports == frozenset({"443", "https"})),
        ({"ssl_negotiation_policy": "ELBSecurityPolicy-TLS-1-2-2017-01"},
         lambda s: s.ssl_policy == "ELBSecurityPolicy-TLS-1-2-2017-01"),
        ({"backend_protocol": "HTTP"}, lambda s: s.backend_protocol == "http"),
        ({"extra_security_groups": "sg-12345678, sg-abcdef01"},
         lambda s: s.extra_security_groups == ("sg-12345678", "sg-abcdef01")),
        ({"security_groups": "sg-12345678"}, lambda s: s.security_groups == ("sg-12345678",)),
        ({"additional_resource_tags": "team=shop, cost=42"},
         lambda s: s.additional_tags == (("team", "shop"), ("cost", "42"))),
        ({"healthcheck_protocol": "http", "healthcheck_path": "/ready",
          "healthcheck_port": "8080", "healthcheck_interval": "15", "healthcheck_timeout": "4",
          "healthcheck_healthy_threshold": "3", "healthcheck_unhealthy_threshold": "4"},
         lambda s: (s.health_check.protocol, s.health_check.port, s.health_check.path,
                    s.health_check.interval) == ("HTTP", 8080, "/ready", 15)),
        ({"healthcheck_port": "traffic-port"}, lambda s: s.health_check.port is None),
        ({"target_node_labels": "pool=edge"}, lambda s: s.target_node_labels == (("pool", "edge"),)),
        ({"subnets": "subnet-1,public-a"}, lambda s: s.subnets == ("subnet-1", "public-a")),
    ],
)
def test_each_annotation_is_parsed(values: dict[str, str], check) -> None:  # type: ignore[no-untyped-def]
    assert check(parse(**values))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cross_zone_load_balancing_enabled": "yes"},
         "cross-zone-load-balancing-enabled: invalid value 'yes'; allowed: true, false"),
        ({"connection_idle_timeout": "0"}, "connection-idle-timeout: invalid value '0'; allowed: an integer 1-4000"),
        ({"connection_draining_timeout": "ten"}, "connection-draining-timeout: invalid value 'ten'"),
        ({"proxy_protocol": "true"}, "proxy-protocol: invalid value 'true'; allowed: *"),
        ({"backend_protocol": "udp"}, "backend-protocol: invalid value 'udp'; allowed: http, https, ssl, tcp"),
        ({"access_log_emit_interval": "30"}, "access-log-emit-interval: invalid value 30; allowed: 5, 60"),
        ({"access_log_enabled": "true"}, "access-log-s3-bucket-name: required"),
        ({"extra_security_groups": "web"}, "extra-security-groups: invalid security group id 'web'"),
        ({"additional_resource_tags": "novalue"}, "additional-resource-tags: invalid entry 'novalue'"),
        ({"healthcheck_protocol": "UDP"}, "healthcheck-protocol: invalid value 'UDP'; allowed: TCP, HTTP, HTTPS, SSL"),
        ({"healthcheck_path": "ready"}, "healthcheck-path: invalid value 'ready'; must start with /"),
        ({"healthcheck_interval": "5", "healthcheck_timeout": "5"}, "healthcheck-timeout: must be less than"),
        ({"ssl_cert": "my-cert"}, "ssl-cert: invalid value 'my-cert'; expected an ACM or IAM certificate ARN"),
        ({"eip_allocations": "eipalloc-1"}, "eip-allocations: applies to Network Load Balancers only"),
        ({"colour": "blue"}, "aws-load-balancer-colour: unknown annotation"),
    ],
)
def test_invalid_values_name_the_annotation_and_allowed_values(
    values: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidAnnotations) as info:
        parse(**values)
    assert message in str(info.value)
    assert all(p.annotation.startswith(PREFIX) for p in info.value.problems)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidAnnotations) as info:
        parse(connection_idle_timeout="x", proxy_protocol="y")
    assert len(info.value.problems) == 2


@pytest.mark.parametrize("lb_type", ["classic", "nlb"])
@pytest.mark.parametrize(
    "key", ["kubernetes.io/cluster/prod", "kubernetes.io/service-name", "k8s-aws/role",
            "k8s-aws/additional-resource-tags"])
def test_additional_tags_may_not_replace_the_tags_that_make_a_load_balancer_ours(
    lb_type: str, key: str
) -> None:
    """`kubernetes.io/cluster/prod=shared` as an additional tag would make the LB one that is
    never deleted and that the next reconcile refuses as not ours."""
    with pytest.raises(InvalidAnnotations) as info:
        parse(type=lb_type, additional_resource_tags=f"team=shop,{key}=shared")
    assert [str(p) for p in info.value.problems] == [
        f"{PREFIX}additional-resource-tags: tag key {key!r} is reserved: k8s-aws sets the "
        "kubernetes.io/cluster/*, kubernetes.io/service-name and k8s-aws/* tags that make a "
        "load balancer its own"]
    assert parse(type=lb_type, additional_resource_tags="team=shop,kubernetes.io/role=web"
                 ).additional_tags == (("team", "shop"), ("kubernetes.io/role", "web"))
