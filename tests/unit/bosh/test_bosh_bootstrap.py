"""`bosh ops-file --image`: k8s-aws's manifests in the control job's `bootstrap` property of
every topology (go-patch's rules, tests/unit/bosh/gopatch.py), after the operator's own
bootstrap and never over one of its objects; composed with the release's own ops file that
sets `bootstrap` (operators/tinynetes/bootstrap.yml)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from k8s_aws.cli.main import cli
from k8s_aws.deploy import render
from k8s_aws.deploy.inputs import DeploySettings
from k8s_aws.ops import bosh, bosh_bootstrap
from k8s_aws.ops.iam_policy import PolicyInputError
from tests.unit.bosh import gopatch
from tests.unit.bosh.test_bosh_config import MANIFESTS, RELEASE, TOPOLOGY_GROUP, declared, job

IMAGE = "registry.example.com/k8s-aws:0.1.0"
SETTINGS = DeploySettings(IMAGE, "prod-1")
TINY_BOOTSTRAP = RELEASE / "manifests" / "operators" / "tinynetes" / "bootstrap.yml"


def theirs_of_tinynetes() -> str:
    (op,) = (o for o in gopatch.load(TINY_BOOTSTRAP.read_text())
             if o["path"].endswith("/bootstrap?"))
    value: str = op["value"]
    return value


def kinds_and_names(text: str) -> list[tuple[str, str]]:
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(text) if d]


def test_the_control_job_declares_bootstrap() -> None:
    assert "bootstrap" in declared("control")


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.stem)
def test_the_manifests_land_in_bootstrap_on_every_topology(path: Path) -> None:
    original = gopatch.load(path.read_text())
    group = TOPOLOGY_GROUP[path.stem]
    value = bosh_bootstrap.merged("", SETTINGS)
    ops = gopatch.load(bosh.ops_file("prod-1", control_group=group, manifest=original,
                                     bootstrap=value))
    doc = gopatch.apply(copy.deepcopy(original), ops)
    bootstrap = job(doc, group, "control")["properties"]["bootstrap"]
    assert bootstrap == render.render(SETTINGS)  # read back by YAML 1.1, byte for byte
    assert ("Deployment", "k8s-aws-controller-manager") in kinds_and_names(bootstrap)


@pytest.mark.parametrize("ours_last", [True, False])
def test_with_the_releases_bootstrap_ops_file_ours_goes_last_and_keeps_theirs(
    ours_last: bool
) -> None:
    """tinynetes' bootstrap.yml replaces the property, as ours does: applied last with their
    value as --bootstrap, both sets of objects are applied; applied first, theirs wins (the
    header says to apply ours last)."""
    doc = gopatch.load((RELEASE / "manifests" / "tinynetes.yml").read_text())
    theirs = gopatch.load(TINY_BOOTSTRAP.read_text())
    ours = gopatch.load(bosh.ops_file(
        "prod-1", control_group="k8s", bootstrap=bosh_bootstrap.merged(theirs_of_tinynetes(),
                                                                        SETTINGS)))
    for ops in [theirs, ours] if ours_last else [ours, theirs]:
        doc = gopatch.apply(doc, ops)
    bootstrap = job(doc, "k8s", "control")["properties"]["bootstrap"]
    names = kinds_and_names(bootstrap)
    assert names[:2] == [("ServiceAccount", "admin-user"), ("ClusterRoleBinding", "admin-user")]
    if ours_last:
        assert names[2:] == kinds_and_names(render.render(SETTINGS))
        assert bootstrap.startswith(theirs_of_tinynetes().rstrip("\n"))
    else:
        assert len(names) == 2
    assert "bootstrap" in bosh.ops_file("prod-1", bootstrap="x: 1\n").split("- type")[0]


SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s%s}\n"


@pytest.mark.parametrize(("theirs", "named"), [
    (SA % ("ebs-csi-controller-sa", ", namespace: kube-system"),
     "ServiceAccount kube-system/ebs-csi-controller-sa"),
    ("kind: StorageClass\nmetadata: {name: ebs-gp3}\n", "StorageClass ebs-gp3"),
    # A namespace on a cluster-scoped object is ignored by the API server.
    ("kind: CSIDriver\nmetadata: {name: ebs.csi.aws.com, namespace: x}\n",
     "CSIDriver ebs.csi.aws.com"),
    ("kind: List\nitems:\n- kind: ClusterRole\n  metadata: {name: 'k8s-aws:csi-attacher'}\n",
     "ClusterRole k8s-aws:csi-attacher"),
    (render.render(SETTINGS), "and 23 more"),  # an earlier rendering (27 objects)
])
def test_an_object_of_ours_in_their_bootstrap_is_refused_naming_it(
    theirs: str, named: str
) -> None:
    with pytest.raises(PolicyInputError, match="would overwrite") as refusal:
        bosh_bootstrap.merged(theirs, SETTINGS)
    assert named in str(refusal.value) and "\n" not in str(refusal.value)


@pytest.mark.parametrize("theirs", [
    SA % ("ebs-csi-controller-sa", ""),  # no namespace: `default`, not kube-system
    SA % ("ebs-csi-controller-sa", ", namespace: other"),
    "kind: StorageClass\nmetadata: {name: aws}\n",  # the release's extra/aws-sc.yml
    "", "---\n", "# only a comment\n",
])
def test_their_other_objects_are_kept_ours_appended(theirs: str) -> None:
    value = bosh_bootstrap.merged(theirs, SETTINGS)
    ours = render.render(SETTINGS)
    assert value.endswith(ours)
    assert value.startswith(theirs.rstrip("\n"))
    assert kinds_and_names(value) == kinds_and_names(theirs) + kinds_and_names(ours)


@pytest.mark.parametrize(("theirs", "message"), [
    ("a: [1\n", "cannot read it as YAML"),
    ("- just\n- a list\n", "not a Kubernetes object"),
    ("kind: Secret\n", "not a Kubernetes object"),
])
def test_a_bootstrap_that_is_no_manifest_is_refused(theirs: str, message: str) -> None:
    with pytest.raises(PolicyInputError, match=message):
        bosh_bootstrap.merged(theirs, SETTINGS, "--bootstrap b.yml")


def ops_cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["bosh", "ops-file", "--cluster-name", "prod-1", *args])


def test_cli_merges_the_bootstrap_file(tmp_path: Path) -> None:
    current = tmp_path / "current.yml"
    current.write_text(theirs_of_tinynetes())
    result = ops_cli("--image", IMAGE, "--bootstrap", str(current), "--control-group", "k8s")
    assert result.exit_code == 0, result.output
    assert result.output == bosh.ops_file(
        "prod-1", control_group="k8s",
        bootstrap=bosh_bootstrap.merged(theirs_of_tinynetes(), SETTINGS))
    alone = ops_cli("--image", IMAGE, "--csi-replicas", "3")
    assert alone.exit_code == 0 and alone.output == bosh.ops_file(
        "prod-1", bootstrap=render.render(DeploySettings(IMAGE, "prod-1", csi_replicas=3)))


@pytest.mark.parametrize(("args", "message"), [
    (["--image", IMAGE, "--bootstrap", "/nonexistent/current.yml"],
     "--bootstrap /nonexistent/current.yml: No such file or directory"),
    (["--bootstrap", "/nonexistent/current.yml"], "--bootstrap is only for --image"),
    (["--csi-replicas", "3"], "--csi-replicas is only for --image"),
    (["--namespace", "k8s-aws"], "--namespace is only for --image"),
    (["--image", "Bad"], "--image 'Bad' is not an image reference"),
    (["--image", IMAGE, "--csi-replicas", "x"], "'--csi-replicas'"),
])
def test_cli_bad_input_is_one_line(args: list[str], message: str) -> None:
    result = ops_cli(*args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], lines


def test_a_manifest_setting_bootstrap_itself_needs_it_passed(tmp_path: Path) -> None:
    """With --manifest, a bootstrap set in the manifest would be replaced: refused unless
    the operator passes it (with whatever else) as --bootstrap."""
    doc = gopatch.apply(gopatch.load((RELEASE / "manifests" / "tinynetes.yml").read_text()),
                        gopatch.load(TINY_BOOTSTRAP.read_text()))
    manifest = tmp_path / "tinynetes.yml"
    manifest.write_text(yaml.safe_dump(doc))
    args = ["--image", IMAGE, "--control-group", "k8s", "--manifest", str(manifest)]
    refused = ops_cli(*args)
    assert refused.exit_code == 2
    assert refused.output.strip() == (
        "Error: --manifest: its control job (group k8s) sets bootstrap, which this ops file "
        "replaces: pass that value as --bootstrap FILE to keep it")
    current = tmp_path / "current.yml"
    current.write_text(theirs_of_tinynetes())
    kept = ops_cli(*args, "--bootstrap", str(current))
    assert kept.exit_code == 0, kept.output
    final = gopatch.apply(doc, gopatch.load(kept.output))
    names = kinds_and_names(job(final, "k8s", "control")["properties"]["bootstrap"])
    assert names == kinds_and_names(theirs_of_tinynetes()) + kinds_and_names(
        render.render(SETTINGS))
    # The release's own manifest sets none: nothing to pass.
    assert ops_cli("--image", IMAGE, "--control-group", "k8s", "--manifest",
                   str(RELEASE / "manifests" / "tinynetes.yml")).exit_code == 0
