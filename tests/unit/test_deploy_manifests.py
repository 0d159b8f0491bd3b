"""`k8s-aws deploy manifests`: every object present, the images asked for, the sidecars'
arguments exactly csi_sidecars' (the sandbox's), pods placed on the release's control VMs
(label and taint `node-role.kubernetes.io/master` only) or on every node, and bad input
refused in one line with nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from k8s_aws.cli.main import cli
from k8s_aws.deploy import csi_sidecars, render, workloads
from k8s_aws.deploy.csi_sidecars import REGISTRAR_IMAGE, SIDECARS, sidecar_argv
from k8s_aws.deploy.inputs import DeployInputError, DeploySettings, check_image
from k8s_aws_sandbox import binaries
from tests.unit.bosh import gopatch

IMAGE = "registry.example.com:5000/team/k8s-aws:0.1.0"
SETTINGS = DeploySettings(IMAGE, "prod-1")
BOSH_MASTER_TAINT = {"key": "node-role.kubernetes.io/master", "value": "true",
                     "effect": "NoSchedule"}
BOSH_MASTER_LABELS = {"node-role.kubernetes.io/master": ""}


def rendered(settings: DeploySettings = SETTINGS) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(render.render(settings)) if d]


def by_key(docs: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]): d
            for d in docs}


def pod_spec(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (doc,) = (d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def containers(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in spec["containers"]}


EXPECTED = [
    ("ServiceAccount", "NS", "k8s-aws-controller-manager"),
    ("ClusterRole", "", "k8s-aws:controller-manager"),
    ("ClusterRoleBinding", "", "k8s-aws:controller-manager"),
    ("Role", "NS", "k8s-aws:controller-manager:leader-election"),
    ("RoleBinding", "NS", "k8s-aws:controller-manager:leader-election"),
    ("ClusterRole", "", "k8s-aws:service-controller"),
    ("ClusterRoleBinding", "", "k8s-aws:service-controller"),
    ("ServiceAccount", "NS", "ebs-csi-controller-sa"),
    ("ServiceAccount", "NS", "snapshot-controller"),
    *((kind, "", f"k8s-aws:{name}") for kind in ("ClusterRole", "ClusterRoleBinding")
      for name in ("csi-provisioner", "csi-attacher", "csi-resizer", "csi-snapshotter",
                   "snapshot-controller")),
    ("Role", "NS", "k8s-aws:csi-leader-election"),
    ("RoleBinding", "NS", "k8s-aws:csi-leader-election"),
    ("CSIDriver", "", "ebs.csi.aws.com"),
    ("Deployment", "NS", "k8s-aws-controller-manager"),
    ("Deployment", "NS", "ebs-csi-controller"),
    ("Deployment", "NS", "snapshot-controller"),
    ("DaemonSet", "NS", "ebs-csi-node"),
    ("StorageClass", "", "ebs-gp3"),
]


@pytest.mark.parametrize("namespace", ["kube-system", "k8s-aws"])
def test_every_object_is_rendered_once_in_the_namespace_asked_for(namespace: str) -> None:
    docs = rendered(DeploySettings(IMAGE, "prod-1", namespace=namespace))
    keys = [(k, n and namespace, name) for k, n, name in EXPECTED]
    if namespace != "kube-system":
        keys.insert(0, ("Namespace", "", namespace))
    assert set(by_key(docs)) == set(keys) and len(docs) == len(keys)
    kinds = [d["kind"] for d in docs]  # apply order: namespace, identities, then workloads
    assert kinds[0] == ("ServiceAccount" if namespace == "kube-system" else "Namespace")
    last_identity = max(i for i, k in enumerate(kinds) if k == "ServiceAccount")
    assert min(i for i, k in enumerate(kinds) if k in ("Deployment", "DaemonSet")) > (
        last_identity)
    for doc in docs:  # every binding's subjects moved with the ServiceAccounts
        for subject in doc.get("subjects") or []:
            assert subject["namespace"] == namespace
    # Leases live in the namespace the Roles allow.
    text = render.render(DeploySettings(IMAGE, "prod-1", namespace=namespace))
    assert text.count(f"--leader-election-namespace={namespace}") == len(SIDECARS)
    assert f"--leader-elect-resource-namespace={namespace}" in text
    assert "kube-system" not in text or namespace == "kube-system"


@pytest.mark.parametrize(("kind", "name", "container", "image"), [
    ("Deployment", "k8s-aws-controller-manager", "controller-manager", IMAGE),
    ("Deployment", "ebs-csi-controller", "ebs-plugin", IMAGE),
    ("DaemonSet", "ebs-csi-node", "ebs-plugin", IMAGE),
    ("DaemonSet", "ebs-csi-node", "node-driver-registrar", REGISTRAR_IMAGE),
    *(("Deployment", "ebs-csi-controller", s.name, s.image) for s in SIDECARS
      if s.calls_driver),
    ("Deployment", "snapshot-controller", "snapshot-controller",
     "registry.k8s.io/sig-storage/snapshot-controller:v8.6.0"),
])
def test_images(kind: str, name: str, container: str, image: str) -> None:
    assert containers(pod_spec(rendered(), kind, name))[container]["image"] == image


def test_the_registrar_image_is_the_one_asked_for() -> None:
    docs = rendered(DeploySettings(IMAGE, "c", registrar_image="mirror.local/ndr:v2.13.0"))
    spec = pod_spec(docs, "DaemonSet", "ebs-csi-node")
    assert containers(spec)["node-driver-registrar"]["image"] == "mirror.local/ndr:v2.13.0"


def test_the_sidecar_images_are_the_versions_the_sandbox_builds_and_tests() -> None:
    versions = {"csi-provisioner": binaries.PROVISIONER_VERSION,
                "csi-attacher": binaries.ATTACHER_VERSION,
                "csi-resizer": binaries.RESIZER_VERSION,
                "csi-snapshotter": binaries.SNAPSHOTTER_VERSION,
                "snapshot-controller": binaries.SNAPSHOTTER_VERSION}
    assert {s.name: s.image.rpartition(":")[2] for s in SIDECARS} == versions
    for sidecar in SIDECARS:
        assert sidecar.image.startswith(f"registry.k8s.io/sig-storage/{sidecar.name}:")


@pytest.mark.parametrize("sidecar", SIDECARS, ids=lambda s: s.name)
def test_sidecar_args_are_csi_sidecars_own(sidecar: csi_sidecars.Sidecar) -> None:
    docs = rendered()
    name = "ebs-csi-controller" if sidecar.calls_driver else "snapshot-controller"
    args = containers(pod_spec(docs, "Deployment", name))[sidecar.name]["args"]
    socket = f"{workloads.CONTROLLER_SOCKET_DIR}/csi.sock"
    assert tuple(args) == sidecar_argv(sidecar, socket)
    assert "--leader-election" in args and not any("--http-endpoint" in a for a in args)
    assert not any(a.startswith("--kubeconfig") for a in args)  # in-cluster config


def test_the_controller_manager_command() -> None:
    spec = pod_spec(rendered(), "Deployment", "k8s-aws-controller-manager")
    command = containers(spec)["controller-manager"]["command"]
    assert command[:3] == ["k8s-aws", "controller-manager", "--leader-elect"]
    assert "--cluster-name=prod-1" in command
    assert spec["serviceAccountName"] == "k8s-aws-controller-manager"


def test_the_csi_controller_shares_one_socket_dir_and_declares_no_port() -> None:
    spec = pod_spec(rendered(), "Deployment", "ebs-csi-controller")
    driver = containers(spec)["ebs-plugin"]
    assert driver["command"] == [
        "k8s-aws", "csi-driver", "--mode=controller",
        f"--endpoint=unix://{workloads.CONTROLLER_SOCKET_DIR}/csi.sock", "--cluster-name=prod-1"]
    assert spec["volumes"] == [{"name": "socket-dir", "emptyDir": {}}]
    for container in spec["containers"]:
        assert container["volumeMounts"] == [
            {"name": "socket-dir", "mountPath": workloads.CONTROLLER_SOCKET_DIR}]
        assert "ports" not in container  # replicas may share a host network
    assert spec["serviceAccountName"] == csi_sidecars.CONTROLLER_SERVICE_ACCOUNT


def tolerated(spec: dict[str, Any], taint: dict[str, str]) -> bool:
    """The scheduler's rule: key (or none with Exists), value (Exists: any), effect."""
    for toleration in spec.get("tolerations") or []:
        if toleration.get("key") not in (None, taint["key"]):
            continue
        if toleration.get("effect") not in (None, taint["effect"]):
            continue
        if toleration.get("operator") == "Exists" or toleration.get("value") == taint["value"]:
            return True
    return False


def selects(spec: dict[str, Any], labels: dict[str, str]) -> bool:
    """Required node affinity: any term whose every Exists expression holds."""
    affinity = spec.get("affinity", {}).get("nodeAffinity")
    if not affinity:
        return True
    terms = affinity["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    for term in terms:
        assert {e["operator"] for e in term["matchExpressions"]} == {"Exists"}
        if all(e["key"] in labels for e in term["matchExpressions"]):
            return True
    return False


UNINITIALIZED = {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true",
                 "effect": "NoSchedule"}
KUBEADM_TAINT = {"key": "node-role.kubernetes.io/control-plane", "value": "",
                 "effect": "NoSchedule"}
KUBEADM_LABELS = {"node-role.kubernetes.io/control-plane": ""}
WORKLOADS = [("Deployment", "k8s-aws-controller-manager"), ("Deployment", "ebs-csi-controller"),
             ("Deployment", "snapshot-controller"), ("DaemonSet", "ebs-csi-node")]
CONTROLLERS = WORKLOADS[:3]


@pytest.mark.parametrize(("kind", "name"), CONTROLLERS)
@pytest.mark.parametrize(("labels", "taint"), [
    (BOSH_MASTER_LABELS, BOSH_MASTER_TAINT), (KUBEADM_LABELS, KUBEADM_TAINT)],
    ids=["bosh-master", "kubeadm-control-plane"])
def test_controllers_go_to_control_vms_of_either_label(
    kind: str, name: str, labels: dict[str, str], taint: dict[str, str]
) -> None:
    spec = pod_spec(rendered(), kind, name)
    assert selects(spec, labels) and tolerated(spec, taint) and tolerated(spec, UNINITIALIZED)
    assert not selects(spec, {"kubernetes.io/hostname": "worker"})  # never on workers
    assert spec["priorityClassName"] == "system-cluster-critical"


@pytest.mark.parametrize(("kind", "name", "host_network", "required_spread"), [
    ("Deployment", "k8s-aws-controller-manager", True, True),  # a fixed loopback port
    ("Deployment", "ebs-csi-controller", True, False),
    ("Deployment", "snapshot-controller", False, False),
])
def test_host_network_and_spread(kind: str, name: str, host_network: bool,
                                 required_spread: bool) -> None:
    spec = pod_spec(rendered(), kind, name)
    assert spec.get("hostNetwork", False) is host_network
    anti = spec["affinity"]["podAntiAffinity"]
    key = "requiredDuringSchedulingIgnoredDuringExecution"
    assert (key in anti) is required_spread
    terms = anti.get(key) or [p["podAffinityTerm"] for p in
                              anti["preferredDuringSchedulingIgnoredDuringExecution"]]
    assert terms[0]["labelSelector"]["matchLabels"] == {"app": name}
    assert terms[0]["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize("replicas", [1, 2, 3])
def test_csi_replicas(replicas: int) -> None:
    docs = by_key(rendered(DeploySettings(IMAGE, "c", csi_replicas=replicas)))
    assert docs[("Deployment", "kube-system", "ebs-csi-controller")]["spec"]["replicas"] == (
        replicas)
    assert docs[("Deployment", "kube-system", "snapshot-controller")]["spec"]["replicas"] == (
        replicas)


@pytest.mark.parametrize("taint", [BOSH_MASTER_TAINT, KUBEADM_TAINT, UNINITIALIZED,
                                   {"key": "dedicated", "value": "db", "effect": "NoExecute"}])
def test_the_node_plugin_tolerates_every_taint(taint: dict[str, str]) -> None:
    spec = pod_spec(rendered(), "DaemonSet", "ebs-csi-node")
    assert tolerated(spec, taint) and "affinity" not in spec


@pytest.mark.parametrize("kubelet_dir", ["/var/lib/kubelet", "/var/vcap/data/kubelet"])
def test_the_node_plugin_mounts(kubelet_dir: str) -> None:
    spec = pod_spec(rendered(DeploySettings(IMAGE, "c", kubelet_dir=kubelet_dir)),
                    "DaemonSet", "ebs-csi-node")
    volumes = {v["name"]: v["hostPath"] for v in spec["volumes"]}
    assert volumes == {
        "kubelet-dir": {"path": kubelet_dir, "type": "Directory"},
        "plugin-dir": {"path": f"{kubelet_dir}/plugins/ebs.csi.aws.com/",
                       "type": "DirectoryOrCreate"},
        "registration-dir": {"path": f"{kubelet_dir}/plugins_registry/", "type": "Directory"},
        "device-dir": {"path": "/dev", "type": "Directory"},
    }
    plugin, registrar = containers(spec)["ebs-plugin"], containers(spec)["node-driver-registrar"]
    assert plugin["securityContext"] == {"privileged": True, "runAsUser": 0}
    mounts = {m["name"]: m for m in plugin["volumeMounts"]}
    assert mounts["kubelet-dir"] == {"name": "kubelet-dir", "mountPath": kubelet_dir,
                                     "mountPropagation": "Bidirectional"}
    assert mounts["device-dir"]["mountPath"] == "/dev"
    assert plugin["command"] == ["k8s-aws", "csi-driver", "--mode=node",
                                 "--endpoint=unix:///csi/csi.sock"]
    assert registrar["args"] == [
        "--csi-address=/csi/csi.sock",
        f"--kubelet-registration-path={kubelet_dir}/plugins/ebs.csi.aws.com/csi.sock"]
    assert {m["mountPath"] for m in registrar["volumeMounts"]} == {"/csi", "/registration"}
    assert spec["hostNetwork"] is True  # IMDS with one hop
    assert spec["priorityClassName"] == "system-node-critical"


def test_the_storage_class_is_gp3_and_not_the_default() -> None:
    (sc,) = (d for d in rendered() if d["kind"] == "StorageClass")
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["parameters"]["type"] == "gp3"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["allowVolumeExpansion"] is True
    assert "storageclass.kubernetes.io/is-default-class" not in str(sc)


def test_the_snapshot_crds_are_not_rendered_and_the_header_says_so() -> None:
    text = render.render(SETTINGS)
    assert "CustomResourceDefinition" not in text
    assert "snapshot CRDs" in text.split("---")[0]


@pytest.mark.parametrize("image", ["n", "y", "on", "1.5", "registry.local/k8s-aws:1"])
def test_yaml_1_1_reads_the_names_back_as_strings(image: str) -> None:
    """kubectl (sigs.k8s.io/yaml, YAML 1.1) and BOSH read `n` as false unless quoted."""
    text = render.render(DeploySettings(image, "n"))
    docs = [gopatch.load(part) for part in text.split("\n---\n")[1:]]
    spec = pod_spec(docs, "Deployment", "k8s-aws-controller-manager")
    assert containers(spec)["controller-manager"]["image"] == image


GOOD_REFS = [
    "nginx", "library/nginx", "k8s-aws:0.1.0", "registry.example.com:5000/team/k8s-aws:0.1.0",
    "localhost/k8s-aws", "localhost:5000/k8s-aws:v1", "127.0.0.1:5000/a/b/c:x",
    "[::1]:5000/k8s-aws:y", "a__b/c---d.e_f:V1_x-y.z", "k8s-aws@sha256:" + "0a" * 32,
    "reg.io/k8s-aws:0.1.0@sha256:" + "f" * 64, "k8s-aws:" + "t" * 128,
]
BAD_REFS = [
    "", "Nginx", "team/K8s-aws", "nginx:", "nginx:1:2", "a//b", "reg.io/", "/x", "x/",
    "k8s-aws@sha256:abc", "k8s-aws@sha256:" + "A" * 64, "k8s-aws@md5:" + "a" * 32,
    "-lead", "trail-", "a_/b", "a b", "reg.io:port/x", "https://reg.io/x",
    "k8s-aws:" + "t" * 129, "k8s-aws:-tag", "reg.io/" + "a" * 256,
]


@pytest.mark.parametrize("ref", GOOD_REFS)
def test_image_references_of_the_oci_grammar_are_accepted(ref: str) -> None:
    assert check_image("--image", ref) == ref


@pytest.mark.parametrize("ref", BAD_REFS)
def test_bad_image_references_are_refused_naming_the_flag(ref: str) -> None:
    with pytest.raises(DeployInputError, match=r"^--image"):
        check_image("--image", ref)


@pytest.mark.parametrize(("args", "flag"), [
    (["--image", "Bad:1"], "--image 'Bad:1' is not an image reference"),
    (["--image", "x", "--cluster-name", "1bad"], "--cluster-name '1bad' is invalid"),
    (["--image", "x", "--cluster-name", "c" * 107], "--cluster-name is 107 characters"),
    (["--image", "x", "--registrar-image", "a b"], "--registrar-image"),
    (["--image", "x", "--namespace", "Kube_System"], "--namespace"),
    (["--image", "x", "--csi-replicas", "0"], "--csi-replicas 0 is out of range"),
    (["--image", "x", "--csi-replicas", "two"], "'--csi-replicas'"),
    (["--image", "x", "--kubelet-dir", "var/lib/kubelet"], "--kubelet-dir"),
    (["--image", "x", "--bogus"], "--bogus"),
    ([], "--image"),
])
def test_cli_bad_input_is_one_line_and_nothing_written(
    tmp_path: Path, args: list[str], flag: str
) -> None:
    out = tmp_path / "out.yaml"
    base = [] if "--cluster-name" in args else ["--cluster-name", "prod-1"]
    result = CliRunner().invoke(cli, ["deploy", "manifests", *base, *args, "-o", str(out)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and flag in lines[0], lines
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_cli_prints_or_writes_the_rendering(tmp_path: Path) -> None:
    args = ["deploy", "manifests", "--image", IMAGE, "--cluster-name", "prod-1"]
    printed = CliRunner().invoke(cli, args)
    assert printed.exit_code == 0 and printed.output == render.render(SETTINGS)
    out = tmp_path / "k8s-aws.yaml"
    written = CliRunner().invoke(cli, [*args, "--namespace", "k8s-aws", "--csi-replicas", "3",
                                       "-o", str(out)])
    assert written.exit_code == 0 and written.output == ""
    assert out.read_text() == render.render(
        DeploySettings(IMAGE, "prod-1", namespace="k8s-aws", csi_replicas=3))
    assert list(tmp_path.iterdir()) == [out]  # no temporary file left
