"""Generated BOSH files against the release itself (tests/unit/bosh/k8s-boshrelease, copied
from the release, MIT): the ops file applied by go-patch's rules to every topology in its
manifests/ (or refused, naming the topology and what to pass), setting only properties the
target jobs' specs declare; the cloud-config ops merged into the release's own cloud config
without a second `kubelet` extension; every name read back as a string by YAML 1.1."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from k8s_aws.cli.main import cli
from k8s_aws.ops import bosh
from k8s_aws.ops.iam_policy import PolicyInputError
from tests.unit.bosh import gopatch

RELEASE = Path(__file__).with_name("k8s-boshrelease")
MANIFESTS = sorted((RELEASE / "manifests").glob("*.yml"))
TOPOLOGY_GROUP = {"hugernetes": "control", "prodernetes": "control", "tinynetes": "k8s",
                  "labernetes": "k8s", "mirrornetes": "k8s"}
TAG = "kubernetes.io/cluster/prod-1"
OPTIONS = [{}, {"single_profile": True}, {"tag_value": "owned"}]


def manifest(path: Path) -> Any:
    return gopatch.load(path.read_text())


def group(doc: Any, name: str) -> Any:
    return next(g for g in doc["instance_groups"] if g["name"] == name)


def job(doc: Any, group_name: str, job_name: str) -> Any:
    return next(j for j in group(doc, group_name)["jobs"] if j["name"] == job_name)


def declared(job_name: str) -> set[str]:
    spec = yaml.safe_load((RELEASE / "jobs" / job_name / "spec").read_text())
    return set(spec.get("properties") or {})


def test_the_fixtures_hold_every_topology() -> None:
    assert {p.stem for p in MANIFESTS} == set(TOPOLOGY_GROUP)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_the_ops_file_applies_to_every_topology_with_its_control_group(path: Path) -> None:
    original = manifest(path)
    control_group = bosh.control_group_of(original)
    assert control_group == TOPOLOGY_GROUP[path.stem]
    ops = gopatch.load(bosh.ops_file("prod-1", control_group=control_group, manifest=original))
    doc = gopatch.apply(copy.deepcopy(original), ops)
    props = job(doc, control_group, "control")["properties"]
    assert props["cloud-provider"] == {"type": "external"}
    assert props["cluster"]["name"] == "prod-1"
    flags = props["apiserver"]["flags"]
    before = (job(original, control_group, "control").get("properties") or {}).get(
        "apiserver", {}).get("flags", [])
    assert flags[:-1] == before  # the operator's own flags are kept, ours comes last
    assert flags[-1] == {"kubelet-preferred-address-types": "InternalIP,Hostname"}
    assert flags[-1]["kubelet-preferred-address-types"].split(",")[0] == "InternalIP"
    extensions = group(doc, control_group)["vm_extensions"]
    assert extensions == [*group(original, control_group).get("vm_extensions", []),
                          bosh.CONTROL_EXTENSION]
    assert doc["tags"] == {**original.get("tags", {}), TAG: "shared"}
    # The kubelet job gets nothing: it declares no cloud-provider property and takes the
    # type from the control job's link.
    for name in {g["name"] for g in doc["instance_groups"]}:
        for item in group(doc, name)["jobs"]:
            if item["name"] == "kubelet":
                assert item == next(j for j in group(original, name)["jobs"]
                                    if j["name"] == "kubelet")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_the_default_ops_file_applies_or_is_refused_naming_the_topology(path: Path) -> None:
    original = manifest(path)
    ops = gopatch.load(bosh.ops_file("prod-1"))
    if TOPOLOGY_GROUP[path.stem] == bosh.DEFAULT_CONTROL_GROUP:
        doc = gopatch.apply(copy.deepcopy(original), ops)
        assert job(doc, "control", "control")["properties"]["cloud-provider"]["type"] == (
            "external")
        return
    # BOSH itself would refuse it (no instance group `control`)...
    with pytest.raises(gopatch.PatchError, match="name=control"):
        gopatch.apply(copy.deepcopy(original), ops)
    # ...and, given the manifest, the generator refuses first, saying what to pass.
    with pytest.raises(PolicyInputError) as refusal:
        bosh.ops_file("prod-1", manifest=original)
    message = str(refusal.value)
    assert original["name"] in message and "--control-group k8s" in message
    assert "no such instance group" in message and "groups: k8s" in message
    # The header says the same to someone who reads the file.
    assert "--control-group k8s" in bosh.ops_file("prod-1")


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("control_group", ["control", "k8s"])
def test_no_op_sets_a_property_its_job_does_not_declare(
    options: dict[str, Any], control_group: str
) -> None:
    ops = gopatch.load(bosh.ops_file("prod-1", control_group=control_group, **options))
    checked = 0
    for op in ops:
        tokens = [t.removesuffix("?") for t in op["path"].split("/")[1:]]
        if "properties" not in tokens:
            continue
        job_name = tokens[tokens.index("properties") - 1].removeprefix("name=")
        below = tokens[tokens.index("properties") + 1:]
        spec = declared(job_name)
        assert any(".".join(below[:n]) in spec for n in range(1, len(below) + 1)), (
            f"{op['path']} sets a property job {job_name} does not declare")
        checked += 1
    assert checked == 3


def test_the_ops_file_keeps_existing_tags() -> None:
    original = manifest(RELEASE / "manifests" / "hugernetes.yml")
    original["tags"] = {"team": "k8s"}
    doc = gopatch.apply(original, gopatch.load(bosh.ops_file("prod-1")))
    assert doc["tags"] == {"team": "k8s", TAG: "shared"}


def test_single_profile_ops_file_adds_no_control_extension() -> None:
    original = manifest(RELEASE / "manifests" / "hugernetes.yml")
    doc = gopatch.apply(original, gopatch.load(bosh.ops_file("prod-1", single_profile=True)))
    assert group(doc, "control")["vm_extensions"] == ["kubelet"]


@pytest.mark.parametrize("name", ["n", "N", "y", "yes", "No", "on", "OFF", "true", "null",
                                  "e1", "inf"])
def test_names_are_read_back_as_strings_by_yaml_1_1(name: str) -> None:
    doc = gopatch.apply(manifest(RELEASE / "manifests" / "hugernetes.yml"),
                        gopatch.load(bosh.ops_file(name)))
    assert job(doc, "control", "control")["properties"]["cluster"]["name"] == name
    assert doc["tags"][f"kubernetes.io/cluster/{name}"] == "shared"
    config = gopatch.apply({}, gopatch.load(bosh.cloud_config(name, worker_profile=name)))
    for extension in config["vm_extensions"]:
        assert extension["cloud_properties"]["iam_instance_profile"] == name


@pytest.mark.parametrize(("call", "flag"), [
    (lambda: bosh.ops_file("1bad"), "--cluster-name"),
    (lambda: bosh.ops_file("a b"), "--cluster-name"),
    (lambda: bosh.ops_file("a/b"), "--cluster-name"),
    (lambda: bosh.ops_file(""), "--cluster-name"),
    # The tag key kubernetes.io/cluster/<name> holds at most 128 characters.
    (lambda: bosh.ops_file("c" * 107), "--cluster-name is 107 characters"),
    (lambda: bosh.ops_file("c1", tag_value="mine"), "--tag-value"),
    (lambda: bosh.ops_file("c1", control_group="a/b"), "--control-group"),
    (lambda: bosh.cloud_config("has space"), "--profile"),
    (lambda: bosh.cloud_config("p" * 129), "--profile"),
    (lambda: bosh.cloud_config("p", worker_profile="a:b"), "--worker-profile"),
])
def test_names_are_validated(call: Any, flag: str) -> None:
    with pytest.raises(PolicyInputError, match=flag):
        call()


CLOUD_CONFIGS: dict[str, Callable[[], Any]] = {
    "release k8s.yml": lambda: gopatch.load(
        (RELEASE / "manifests" / "cloud-config" / "k8s.yml").read_text()),
    "release k8s.yml + kubelet-empty.yml": lambda: gopatch.apply(
        gopatch.load((RELEASE / "manifests" / "cloud-config" / "k8s.yml").read_text()),
        gopatch.load((RELEASE / "manifests" / "cloud-config" / "kubelet-empty.yml").read_text())),
    "none": lambda: {},
    "kubelet with a profile and an elb": lambda: {"vm_extensions": [{
        "name": "kubelet", "cloud_properties": {"iam_instance_profile": "old", "elbs": ["e"]}}]},
}


@pytest.mark.parametrize("base", CLOUD_CONFIGS, ids=list(CLOUD_CONFIGS))
@pytest.mark.parametrize("options", [{}, {"worker_profile": "ro"}, {"single_profile": True}])
def test_cloud_config_merges_into_the_releases_kubelet_extension(
    base: str, options: dict[str, Any]
) -> None:
    original = CLOUD_CONFIGS[base]()
    doc = gopatch.apply(copy.deepcopy(original), gopatch.load(bosh.cloud_config("ctl", **options)))
    names = [e["name"] for e in doc["vm_extensions"]]
    assert len(names) == len(set(names)), f"duplicate vm extension names: {names}"
    extensions = {e["name"]: e["cloud_properties"] for e in doc["vm_extensions"]}
    for props in extensions.values():
        if "metadata_options" in props:
            assert props["metadata_options"] == {
                "http_tokens": "required", "http_put_response_hop_limit": 1}
    kubelet = extensions["kubelet"]
    assert "metadata_options" in kubelet
    if options.get("single_profile"):
        assert bosh.CONTROL_EXTENSION not in extensions
        assert kubelet["iam_instance_profile"] == "ctl"
    else:
        assert extensions[bosh.CONTROL_EXTENSION]["iam_instance_profile"] == "ctl"
        assert kubelet.get("iam_instance_profile") == options.get("worker_profile")
    if "elbs" in str(original):
        assert kubelet["elbs"] == ["e"]  # the operator's other properties are kept
    # Applying it twice changes nothing more (a re-run of update-cloud-config).
    assert gopatch.apply(copy.deepcopy(doc), gopatch.load(bosh.cloud_config("ctl", **options))) == (
        doc)


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["ops-file", "--cluster-name", "1bad"], "--cluster-name"),
        (["ops-file", "--cluster-name", "c1", "--tag-value", "mine"], "--tag-value"),
        (["ops-file", "--cluster-name", "c1", "--manifest",
          str(RELEASE / "manifests" / "tinynetes.yml")], "--control-group k8s"),
        (["ops-file", "--cluster-name", "c1", "--manifest", "/nonexistent.yml"], "--manifest"),
        (["cloud-config", "--profile", "a b"], "--profile"),
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
    tiny = runner.invoke(cli, ["bosh", "ops-file", "--cluster-name", "prod-1", "--control-group",
                               "k8s", "--manifest", str(RELEASE / "manifests" / "tinynetes.yml")])
    assert tiny.exit_code == 0 and tiny.output == bosh.ops_file("prod-1", control_group="k8s")
    cloud = runner.invoke(cli, ["bosh", "cloud-config", "--profile", "p"])
    assert cloud.exit_code == 0 and cloud.output == bosh.cloud_config("p")


@pytest.mark.parametrize("ours_first", [True, False])
def test_the_ops_file_composes_with_the_releases_own_ops_files(ours_first: bool) -> None:
    """tinynetes as its README deploys it (its operators/tinynetes/*.yml, then the common
    operators/*.yml), with ours first or last: every file applies and ours holds."""
    doc = manifest(RELEASE / "manifests" / "tinynetes.yml")
    theirs = [gopatch.load(p.read_text()) for p in [
        *sorted((RELEASE / "manifests" / "operators" / "tinynetes").glob("*.yml")),
        *sorted((RELEASE / "manifests" / "operators").glob("*.yml"))]]
    ours = gopatch.load(bosh.ops_file("prod-1", control_group="k8s"))
    for ops in [ours, *theirs] if ours_first else [*theirs, ours]:
        doc = gopatch.apply(doc, ops)
    props = job(doc, "k8s", "control")["properties"]
    assert props["cloud-provider"]["type"] == "external" and props["cluster"]["name"] == "prod-1"
    assert props["bootstrap"].startswith("---")  # the release's bootstrap.yml is kept
