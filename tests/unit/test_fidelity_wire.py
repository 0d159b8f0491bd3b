"""Reading AWS requests off the wire, and writing errors botocore parses as AWS's own."""

from __future__ import annotations

import io
from typing import Any

import pytest
from botocore.parsers import create_parser

from k8s_aws_sandbox.fidelity.request import client_id, parse, read_body
from k8s_aws_sandbox.fidelity.responses import (
    Refusal,
    Reply,
    drop_element,
    error_code,
    error_reply,
    is_aws_shaped,
    set_text,
)

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261124/us-west-2/{}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc")
AGENT = ("Boto3/1.44.5 md/Botocore#1.44.5 ua/2.1 os/linux lang/python#3.11 app/{} "
         "cfg/retry-mode#legacy")


def environ(body: str, service: str = "ec2", agent: str = AGENT.format("manager"),
            **extra: str) -> dict[str, Any]:
    data = body.encode()
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
        "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data),
        "HTTP_AUTHORIZATION": AUTH.format(service), "HTTP_USER_AGENT": agent, **extra,
    }


def request_of(env: dict[str, Any]) -> Any:
    return parse(env, read_body(env))


def test_an_ec2_query_call() -> None:
    env = environ("Action=DescribeVolumes&Version=2016-11-15&VolumeId.1=vol-1&VolumeId.2=vol-2")
    request = request_of(env)
    assert (request.service, request.action, request.protocol) == ("ec2", "DescribeVolumes", "ec2")
    assert (request.region, request.access_key, request.client) == (
        "us-west-2", "AKIDEXAMPLE", "manager")
    assert request.members("VolumeId") == ["vol-1", "vol-2"]
    assert not request.mutating
    assert env["wsgi.input"].read() == env["wsgi.input"].getvalue()  # readable again


@pytest.mark.parametrize(
    ("version", "service"), [("2012-06-01", "elb"), ("2015-12-01", "elbv2")])
def test_load_balancer_apis_share_a_scope(version: str, service: str) -> None:
    request = request_of(environ(f"Action=CreateLoadBalancer&Version={version}"
                                 "&Subnets.member.1=subnet-1", "elasticloadbalancing"))
    assert (request.service, request.protocol, request.mutating) == (service, "query", True)
    assert request.members("Subnets") == ["subnet-1"]
    assert request.operation == f"{service}:CreateLoadBalancer"


def test_json_and_rest_calls() -> None:
    env = environ("{}", "logs", HTTP_X_AMZ_TARGET="Logs_20140328.PutLogEvents",
                  CONTENT_TYPE="application/x-amz-json-1.1")
    assert (request_of(env).service, request_of(environ("", "s3")).action) == ("logs", "POST /")
    assert parse(env, b"{}").action == "PutLogEvents"


@pytest.mark.parametrize(
    ("agent", "key", "client"),
    [
        (AGENT.format("k8s-aws-csi-driver"), "AKID", "k8s-aws-csi-driver"),
        ("Boto3/1.44.5 md/Botocore#1.44.5", "AKID", "AKID"),
        ("", "", "unknown"),
        ("aws-sdk-go-v2/1.30.0 app/ebs-csi", "", "ebs-csi"),
    ],
)
def test_client_identity(agent: str, key: str, client: str) -> None:
    assert client_id(agent, key) == client


def test_unsigned_calls_have_a_default_region_and_key() -> None:
    env = environ("Action=DescribeRegions&Version=2016-11-15")
    del env["HTTP_AUTHORIZATION"]
    request = request_of(env)
    assert (request.service, request.region, request.client) == ("ec2", "us-east-1", "manager")


@pytest.mark.parametrize(
    ("protocol", "service", "status"),
    [("ec2", "ec2", 400), ("ec2", "ec2", 503), ("query", "elb", 400), ("query", "elbv2", 500),
     ("query", "iam", 400), ("json", "logs", 400)],
)
def test_errors_parse_as_aws_errors(protocol: str, service: str, status: int) -> None:
    reply = error_reply(protocol, service, Refusal("SomeCode", "a <message> & more", status))
    parsed = create_parser(protocol).parse(
        {"status_code": reply.status, "headers": dict(reply.headers), "body": reply.body},
        None,  # type: ignore[arg-type]  # errors parse without an output shape
    )
    assert parsed["Error"]["Code"] == "SomeCode"
    assert parsed["Error"]["Message"] == "a <message> & more"
    assert reply.status == status and error_code(reply) == "SomeCode"
    assert reply.header("content-length") == str(len(reply.body))


def test_answers_the_emulator_gives() -> None:
    ok = Reply(200, (("Content-Length", "5"),), b"<a/>")
    assert error_code(ok) is None and ok.status_line == "200 OK"
    html = Reply(500, (), b"<!doctype html>\n<title>500</title>")
    assert not is_aws_shaped(html) and error_code(html) == ""
    assert is_aws_shaped(Reply(500, (), b"<?xml version='1.0'?><Response/>"))


def test_editing_an_answer() -> None:
    body = b"<x><status>completed</status><progress>100</progress><endTime>t</endTime></x>"
    edited = drop_element(set_text(set_text(body, "status", "pending"), "progress", "0"),
                          "endTime")
    assert edited == b"<x><status>pending</status><progress>0</progress></x>"
    reply = Reply(200, (("Content-Length", "1"),), b"x").with_body(edited)
    assert reply.header("Content-Length") == str(len(edited))


def test_a_chunked_body_is_read_to_its_end() -> None:
    env = environ("")
    del env["CONTENT_LENGTH"]
    env["wsgi.input"] = io.BytesIO(b"Action=DescribeVolumes&Version=2016-11-15")
    env["wsgi.input_terminated"] = True
    assert request_of(env).action == "DescribeVolumes"
