"""The declared operations and the code agree: a scan of every boto3 call site."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import boto3

from k8s_aws.cloud import operations

SRC = Path(__file__).resolve().parents[2] / "src" / "k8s_aws"
# Where boto3 clients are used (the boundary, and the bootstrap read of the own instance).
SCANNED = (SRC / "cloud", SRC / "controllers")
PAIR = re.compile(r'"(ec2|elb|elbv2|sts|kms|iam)",\s*"([A-Z][A-Za-z0-9]+)"')
SNAKE = re.compile(r'\.([a-z]+(?:_[a-z0-9]+)+)\(|"([a-z]+(?:_[a-z0-9]+)+)"')


@cache
def method_maps() -> dict[str, dict[str, str]]:
    session = boto3.session.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return {
        service: dict(session.client(service).meta.method_to_api_mapping)  # type: ignore[call-overload]
        for service in operations.IAM_PREFIX
    }


def scan_text(text: str) -> tuple[set[tuple[str, str]], set[str]]:
    """(service, operation) pairs named at Runner/translate call sites in `text`, and the API
    names of the boto3 client methods it calls (or paginates)."""
    api_names = {snake: api for m in method_maps().values() for snake, api in m.items()}
    pairs = {(m[1], m[2]) for m in PAIR.finditer(text)}
    methods = {api_names[name] for match in SNAKE.finditer(text)
               if (name := match[1] or match[2]) in api_names}
    return pairs, methods


def scanned_files() -> list[Path]:
    return [path for directory in SCANNED for path in sorted(directory.rglob("*.py"))
            if path.name != "operations.py"]


def scan() -> tuple[set[tuple[str, str]], set[str]]:
    """What scan_text finds in every file of the scanned packages."""
    pairs: set[tuple[str, str]] = set()
    methods: set[str] = set()
    for path in scanned_files():
        found_pairs, found_methods = scan_text(path.read_text())
        pairs |= found_pairs
        methods |= found_methods
    return pairs, methods


def test_the_scan_sees_what_it_looks_for() -> None:
    """Planted call sites are found, and the scan reads the packages' files (an empty or
    moved tree would otherwise make every test below pass)."""
    planted = (
        'await self._run("elbv2", "CreateListener", call)\n'
        "pages = ec2.get_paginator(\"describe_instances\")\n"
        "ec2.create_tags(Resources=ids, Tags=tags)\n"
        "self.not_an_api_call(x)\n"
    )
    assert scan_text(planted) == (
        {("elbv2", "CreateListener")}, {"DescribeInstances", "CreateTags"})
    assert len(scanned_files()) > 20
    pairs, methods = scan()
    assert len(pairs) > 20 and len(methods) > 20


def test_every_operation_called_is_declared() -> None:
    pairs, methods = scan()
    declared = operations.declared()
    assert pairs - declared == set()
    assert methods - {name for _, name in declared} == set()


def test_every_declared_operation_is_called() -> None:
    pairs, methods = scan()
    explicit = {(op.service, op.name) for op in operations.OPERATIONS if not op.implicit}
    unused = {(s, n) for s, n in explicit if (s, n) not in pairs and n not in methods}
    assert unused == set()


def test_every_operator_operation_is_called() -> None:
    pairs, methods = scan()
    unused = {(op.service, op.name) for op in operations.OPERATOR_OPERATIONS
              if (op.service, op.name) not in pairs and op.name not in methods}
    assert unused == set()


def test_declared_operations_exist_in_botocore() -> None:
    for op in (*operations.OPERATIONS, *operations.OPERATOR_OPERATIONS):
        assert op.name in method_maps()[op.service].values(), op


def test_an_operation_has_one_access_kind_whatever_feature_declares_it() -> None:
    kinds: dict[tuple[str, str], set[operations.Access]] = {}
    for op in operations.OPERATIONS:
        kinds.setdefault((op.service, op.name), set()).add(op.access)
    assert {k: v for k, v in kinds.items() if len(v) > 1} == {}


def test_features_are_known() -> None:
    allowed = {*operations.FEATURES, operations.BOOTSTRAP}
    assert {op.feature for op in operations.OPERATIONS} <= allowed
    assert {op.feature for op in operations.OPERATOR_OPERATIONS} == set(operations.OPERATOR_TOOLS)


def test_the_controllers_never_hold_an_operator_tool_operation() -> None:
    assert not [op for op in operations.for_features(operations.FEATURES)
                if op.feature in operations.OPERATOR_TOOLS]
