"""Generated BOSH files: the cloud config's extensions and the ops file applied to a
hugernetes-shaped manifest (by go-patch's rules here; by the real `bosh int` when built)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from k8s_aws.cli.main import cli
from k8s_aws.ops import bosh
from tests.unit.bosh import gopatch

MANIFEST = Path(__file__).with_name("hugernetes.yml")
TAG = "kubernetes.io/cluster/prod-1"


def _manifest() -> Any:
    return yaml.safe_load(MANIFEST.read_text())


def _group(doc: Any, name: str) -> Any:
    return next(g for g in doc["instance_groups"] if g["name"] == name)


def _job(doc: Any, group: str, job: str) -> Any:
    return next(j for j in _group(doc, group)["jobs"] if j["name"] == job)


def _patched(**kw: Any) -> Any:
    return gopatch.apply(_manifest(), yaml.safe_load(bosh.ops_file("prod-1", **kw)))


def test_ops_file_sets_external_cloud_provider_cluster_name_and_shared_tag() -> None:
    doc = _patched()
    assert _job(doc, "control", "control")["properties"]["cloud-provider"] == {"type": "external"}
    assert _job(doc, "control", "control")["properties"]["cluster"]["name"] == "prod-1"
    for group in ("control", "node"):
        assert _job(doc, group, "kubelet")["properties"]["cloud-provider"]["type"] == "external"
    assert doc["tags"] == {TAG: "shared"}
    assert _group(doc, "control")["vm_extensions"] == ["kubelet", bosh.CONTROL_EXTENSION]
    assert _group(doc, "node")["vm_extensions"] == ["kubelet"]
    assert _group(doc, "etcd") == _group(_manifest(), "etcd")


def test_ops_file_explains_shared_and_accepts_owned() -> None:
    text = bosh.ops_file("prod-1")
    assert "persistent disk" in text and "shared" in text.splitlines()[1]
    assert _patched(tag_value="owned")["tags"] == {TAG: "owned"}


def test_single_profile_ops_file_adds_no_control_extension() -> None:
    doc = _patched(single_profile=True)
    assert _group(doc, "control")["vm_extensions"] == ["kubelet"]


def test_ops_file_keeps_existing_tags() -> None:
    manifest = _manifest()
    manifest["tags"] = {"team": "k8s"}
    doc = gopatch.apply(manifest, yaml.safe_load(bosh.ops_file("prod-1")))
    assert doc["tags"] == {"team": "k8s", TAG: "shared"}


def test_cloud_config_profile_only_on_control_and_imdsv2_one_hop_everywhere() -> None:
    extensions = {e["name"]: e["cloud_properties"]
                  for e in yaml.safe_load(bosh.cloud_config("ctl"))["vm_extensions"]}
    assert extensions[bosh.CONTROL_EXTENSION]["iam_instance_profile"] == "ctl"
    assert "iam_instance_profile" not in extensions["kubelet"]
    for props in extensions.values():
        assert props["metadata_options"] == {
            "http_tokens": "required", "http_put_response_hop_limit": 1
        }


def test_cloud_config_worker_profile_and_single_profile() -> None:
    two = yaml.safe_load(bosh.cloud_config("ctl", worker_profile="ro"))["vm_extensions"]
    assert two[1]["cloud_properties"]["iam_instance_profile"] == "ro"
    single = yaml.safe_load(bosh.cloud_config("ctl", single_profile=True))["vm_extensions"]
    assert [e["name"] for e in single] == ["kubelet"]
    assert single[0]["cloud_properties"]["iam_instance_profile"] == "ctl"


def test_gopatch_refuses_a_missing_non_optional_path() -> None:
    with pytest.raises(gopatch.PatchError):
        gopatch.apply(copy.deepcopy(_manifest()),
                      [{"type": "replace", "path": "/instance_groups/name=lb/x", "value": 1}])


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["ops-file", "--cluster-name", "1bad"], "--cluster-name"),
        (["ops-file", "--cluster-name", "c1", "--tag-value", "mine"], "--tag-value"),
    ],
)
def test_cli_bad_input_is_one_line(args: list[str], flag: str) -> None:
    result = CliRunner().invoke(cli, ["bosh", *args])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and flag in result.output


def test_cli_prints_both_files() -> None:
    runner = CliRunner()
    ops = runner.invoke(cli, ["bosh", "ops-file", "--cluster-name", "prod-1"])
    assert ops.exit_code == 0 and ops.output == bosh.ops_file("prod-1")
    cloud = runner.invoke(cli, ["bosh", "cloud-config", "--profile", "p"])
    assert cloud.exit_code == 0 and cloud.output == bosh.cloud_config("p")
