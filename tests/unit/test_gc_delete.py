"""`gc --delete`'s wait: a group still held by a deleted load balancer's interfaces is retried
until the deadline; one named by another group's rule fails at once; gone counts as deleted."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from k8s_aws.cloud.gc_delete import Deleted, delete_all
from k8s_aws.model.gc import Found, Kind


def _error(code: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": "m"},
                     "ResponseMetadata": {"HTTPStatusCode": 400}}
    return ClientError(response, "DeleteSecurityGroup")


class FakeEc2:
    def __init__(self, refusals: int, referencing: list[str] | None = None,
                 code: str = "DependencyViolation") -> None:
        self.refusals = refusals
        self.referencing = referencing or []
        self.code = code
        self.calls = 0

    def delete_security_group(self, GroupId: str) -> None:
        self.calls += 1
        if self.calls <= self.refusals:
            raise _error(self.code)

    def describe_security_groups(self, Filters: Any) -> dict[str, Any]:
        return {"SecurityGroups": [{"GroupId": g} for g in self.referencing]}


GROUP = Found(Kind.SECURITY_GROUP, "sg-1", "k8s-elb-x", ())


def _run(ec2: FakeEc2, wait: float) -> tuple[list[Deleted], list[float]]:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    results = delete_all(ec2, None, None, "c1", [GROUP], wait, lambda _: None,
                         clock=lambda: now[0], sleep=sleep)
    return results, slept


def test_a_group_still_in_use_is_retried_with_back_off_until_deleted() -> None:
    results, slept = _run(FakeEc2(refusals=3), wait=60)
    assert [r.outcome for r in results] == ["deleted"]
    assert slept == [0.5, 1.0, 2.0]


def test_the_wait_ends_at_the_deadline_with_the_error() -> None:
    results, slept = _run(FakeEc2(refusals=100), wait=5)
    assert results[0].outcome.startswith("failed: DeleteSecurityGroup: DependencyViolation")
    assert sum(slept) <= 5


def test_a_group_named_by_another_groups_rule_fails_at_once_naming_it() -> None:
    results, slept = _run(FakeEc2(refusals=100, referencing=["sg-1", "sg-node"]), wait=60)
    assert results[0].outcome == "failed: rules in sg-node reference it: remove them"
    assert slept == []


def test_a_group_already_gone_counts_as_deleted() -> None:
    results, _ = _run(FakeEc2(refusals=1, code="InvalidGroup.NotFound"), wait=60)
    assert results[0].outcome == "already gone"
