"""Nothing above cloud/ reads an AWS error code: the boundary turns each one a caller acts
on into one of our errors (cloud/errors.py), and callers branch on those.

The scan reads the source of every package but cloud/ (the boundary) and sandbox/ (the
emulated AWS, which speaks the codes) for string constants that are AWS error codes and for
reads of a botocore error response (`...response["Error"]`).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import botocore.session

from k8s_aws.cloud import errors

SOURCE = Path(__file__).resolve().parents[2] / "src" / "k8s_aws"
BOUNDARIES = ("cloud", "sandbox", "volumes/csi/proto")
# EC2 models no error shapes; its codes are `Resource.Reason` (InvalidGroup.Duplicate, ...).
EC2_CODE = re.compile(r"^[A-Z][A-Za-z0-9]+\.(NotFound|Duplicate|Malformed|InUse|[A-Z][a-z]+"
                      r"Mismatch|Unavailable)$")


@cache
def known_codes() -> frozenset[str]:
    """The codes our translation knows and every code the models of our services declare."""
    session = botocore.session.get_session()
    modeled = {
        str(shape.metadata.get("error", {}).get("code", shape.name))
        for service in ("elb", "elbv2", "iam", "sts", "kms")
        for shape in session.get_service_model(service).error_shapes
    }
    ours = set().union(*(
        value for name, value in vars(errors).items()
        if name.endswith("_CODES") and isinstance(value, frozenset)
    ))
    return frozenset(modeled | ours | {"IdempotentParameterMismatch"})


def _sources() -> list[Path]:
    return sorted(
        path for path in SOURCE.rglob("*.py")
        if not any(path.relative_to(SOURCE).as_posix().startswith(b) for b in BOUNDARIES)
    )


def aws_code_reads(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each AWS error code constant and each error-response read."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
            node.value in known_codes() or EC2_CODE.match(node.value)
        ):
            found.append((node.lineno, repr(node.value)))
        if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                and node.slice.value == "Error"):
            found.append((node.lineno, '["Error"]'))
    return found


def test_the_scan_sees_what_it_looks_for() -> None:
    planted = ast.parse(
        'if exc.code == "VolumeInUse": pass\n'
        'CODES = ("InvalidGroup.Duplicate", "TooManyTargets")\n'
        'code = err.response["Error"]["Code"]\n'
        'reason = "SyncLoadBalancerFailed"\n'
    )
    assert aws_code_reads(planted) == [
        (1, "'VolumeInUse'"), (2, "'InvalidGroup.Duplicate'"), (2, "'TooManyTargets'"),
        (3, '["Error"]'),
    ]
    assert len(_sources()) > 50


def test_no_aws_error_code_above_the_boundary() -> None:
    offenders = [
        f"{path.relative_to(SOURCE)}:{line}: {what}"
        for path in _sources()
        for line, what in aws_code_reads(ast.parse(path.read_text(), str(path)))
    ]
    assert offenders == []


CLUSTER_TAG_HOME = "model/cluster_tag.py"


def cluster_tag_spellings(tree: ast.AST) -> list[int]:
    """Lines spelling the cluster tag key (help texts naming `<name>` are prose, not keys)."""
    return [
        node.lineno for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and "kubernetes.io/cluster/" in node.value
        and "kubernetes.io/cluster/<" not in node.value
        and "kubernetes.io/cluster/{" not in node.value
    ]


def test_the_cluster_tag_key_is_spelled_in_one_place() -> None:
    planted = ast.parse('a = "kubernetes.io/cluster/"\nb = f"kubernetes.io/cluster/{c}"\n'
                        'c = "the kubernetes.io/cluster/<name> tag"\n')
    assert cluster_tag_spellings(planted) == [1, 2]
    spelled = [
        f"{path.relative_to(SOURCE)}:{line}"
        for path in sorted(SOURCE.rglob("*.py"))
        if "volumes/csi/proto" not in path.as_posix()
        for line in cluster_tag_spellings(ast.parse(path.read_text(), str(path)))
    ]
    assert spelled == [f"{CLUSTER_TAG_HOME}:6"]
