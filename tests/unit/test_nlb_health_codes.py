"""`healthcheck-success-codes` on an NLB's HTTP(S) checks (the Matcher, AWS's default
200-399), and `ip-address-type: ipv4` taken as what k8s-aws does; bad values named."""

from __future__ import annotations

import pytest

from k8s_aws.cloud.nlb_wire import health_check_args, health_check_of

from .test_nlb_plan import applied, desired, nlb, plan

HTTP = {"healthcheck-protocol": "HTTP", "healthcheck-path": "/ready"}


def codes(annotations: dict[str, str]) -> set[str]:
    return {g.health_check.success_codes for g in desired(plan(nlb(annotations))).target_groups}


def test_success_codes_go_on_http_checks_and_default_to_aws_s() -> None:
    assert codes(HTTP) == {"200-399"}
    assert codes({**HTTP, "healthcheck-success-codes": "200,202"}) == {"200,202"}
    assert codes({}) == {""}  # a TCP check has none
    svc = nlb({**HTTP, "healthcheck-success-codes": "200-299"})
    assert plan(svc, applied(svc)).plan.actions == ()


def test_a_changed_success_code_is_a_health_check_change_in_place() -> None:
    after = applied(nlb({**HTTP, "healthcheck-success-codes": "200"}))
    changed = plan(nlb({**HTTP, "healthcheck-success-codes": "200-399"}), after)
    assert {a.op for a in changed.plan.actions} == {"ModifyTargetGroupHealthCheck"}


def test_the_matcher_travels_both_ways() -> None:
    check = desired(plan(nlb({**HTTP, "healthcheck-success-codes": "200,202"}))).target_groups[
        0].health_check
    args = health_check_args(check)
    assert args["Matcher"] == {"HttpCode": "200,202"}
    assert health_check_of(args) == check
    assert "Matcher" not in health_check_args(desired(plan(nlb())).target_groups[0].health_check)


@pytest.mark.parametrize(("annotations", "named"), [
    ({**HTTP, "healthcheck-success-codes": "abc"}, "allowed: HTTP codes 200-599"),
    ({**HTTP, "healthcheck-success-codes": "199"}, "allowed: HTTP codes 200-599"),
    ({**HTTP, "healthcheck-success-codes": "400-300"}, "allowed: HTTP codes 200-599"),
    ({"healthcheck-success-codes": "200"}, "needs aws-load-balancer-healthcheck-protocol"),
    ({"ip-address-type": "ipv6"}, "allowed: ipv4, dualstack"),
])
def test_bad_values_are_a_warning_naming_them_and_no_aws_change(
    annotations: dict[str, str], named: str
) -> None:
    planned = plan(nlb(annotations))
    assert planned.plan.actions == ()
    assert any(named in n.message for n in planned.notes if n.reason == "InvalidConfiguration")


def test_ip_address_type_ipv4_is_taken_and_dualstack_warned() -> None:
    quiet = plan(nlb({"ip-address-type": "ipv4"}))
    assert quiet.plan.actions and not [n for n in quiet.notes
                                       if n.reason == "UnsupportedAnnotation"]
    loud = plan(nlb({"ip-address-type": "dualstack"}))
    assert any("ip-address-type" in n.message for n in loud.notes
               if n.reason == "UnsupportedAnnotation")
