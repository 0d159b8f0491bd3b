"""The Deployments and the DaemonSet, as API objects built from the settings and from
`csi_sidecars` (the sidecars' arguments and images, the one place the sandbox shares).

Controllers run on the control VMs' host network: IMDS answers with one hop there and gives
the control VMs' instance profile. The controller-manager's replicas each bind a fixed
loopback port (metrics, probes), so one per node (a single control VM keeps the second
Pending as a standby); the CSI controller's replicas bind no port (the driver listens on a
socket in the pod's emptyDir, the sidecars serve no HTTP), so several may share one VM.
Every copy elects a leader on a Lease in the manifests' namespace."""

from __future__ import annotations

from typing import Any

from k8s_aws.deploy import csi_sidecars
from k8s_aws.deploy.csi_sidecars import CONTROLLER_SERVICE_ACCOUNT, DRIVER_NAME, SIDECARS
from k8s_aws.deploy.inputs import DeploySettings
from k8s_aws.deploy.placement import (
    control_node_affinity,
    control_tolerations,
    every_taint,
    on_control_vms,
    spread,
)

CONTROLLER_MANAGER = "k8s-aws-controller-manager"
CONTROLLER_SERVICE_ACCOUNT_CCM = "k8s-aws-controller-manager"
CSI_CONTROLLER = "ebs-csi-controller"
SNAPSHOT_CONTROLLER = "snapshot-controller"
CSI_NODE = "ebs-csi-node"
METRICS_ADDRESS = "127.0.0.1:10258"
CONTROLLER_SOCKET_DIR = "/var/lib/csi/sockets/pluginproxy"
NODE_SOCKET_DIR = "/csi"


def _deployment(name: str, namespace: str, replicas: int,
                pod_spec: dict[str, Any]) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod_spec},
        },
    }


def controller_manager(s: DeploySettings) -> dict[str, Any]:
    host, _, port = METRICS_ADDRESS.partition(":")
    probe = {"host": host, "port": int(port)}
    container = {
        "name": "controller-manager",
        "image": s.image,
        "command": [
            "k8s-aws", "controller-manager", "--leader-elect",
            f"--leader-elect-resource-namespace={s.namespace}",
            f"--cluster-name={s.cluster}",
            f"--metrics-bind-address={METRICS_ADDRESS}",
        ],
        "livenessProbe": {"httpGet": {**probe, "path": "/healthz"}},
        "readinessProbe": {"httpGet": {**probe, "path": "/readyz"}},
    }
    spec = {"serviceAccountName": CONTROLLER_SERVICE_ACCOUNT_CCM,
            **on_control_vms({"app": CONTROLLER_MANAGER}, spread_required=True),
            "containers": [container]}
    return _deployment(CONTROLLER_MANAGER, s.namespace, 2, spec)


def _socket_mount(path: str) -> list[dict[str, Any]]:
    return [{"name": "socket-dir", "mountPath": path}]


def csi_controller(s: DeploySettings) -> dict[str, Any]:
    socket = f"{CONTROLLER_SOCKET_DIR}/csi.sock"
    driver = {
        "name": "ebs-plugin",
        "image": s.image,
        "command": ["k8s-aws", "csi-driver", "--mode=controller",
                    f"--endpoint=unix://{socket}", f"--cluster-name={s.cluster}"],
        "volumeMounts": _socket_mount(CONTROLLER_SOCKET_DIR),
    }
    sidecars = [
        {"name": sidecar.name, "image": sidecar.image,
         "args": list(csi_sidecars.sidecar_argv(sidecar, socket, lease_namespace=s.namespace)),
         "volumeMounts": _socket_mount(CONTROLLER_SOCKET_DIR)}
        for sidecar in SIDECARS
        if sidecar.calls_driver
    ]
    spec = {"serviceAccountName": CONTROLLER_SERVICE_ACCOUNT,
            **on_control_vms({"app": CSI_CONTROLLER}, spread_required=False),
            "containers": [driver, *sidecars],
            "volumes": [{"name": "socket-dir", "emptyDir": {}}]}
    return _deployment(CSI_CONTROLLER, s.namespace, s.csi_replicas, spec)


def snapshot_controller(s: DeploySettings) -> dict[str, Any]:
    """Not a CSI sidecar (it never calls the driver, needs no IMDS: pod network); beside the
    CSI controller on the control VMs."""
    (sidecar,) = (c for c in SIDECARS if not c.calls_driver)
    container = {"name": sidecar.name, "image": sidecar.image,
                 "args": list(csi_sidecars.sidecar_argv(sidecar, "",
                                                        lease_namespace=s.namespace))}
    spec = {"serviceAccountName": sidecar.service_account,
            "priorityClassName": "system-cluster-critical",
            "tolerations": control_tolerations(),
            "affinity": {"nodeAffinity": control_node_affinity(),
                         "podAntiAffinity": spread({"app": SNAPSHOT_CONTROLLER}, False)},
            "containers": [container]}
    return _deployment(SNAPSHOT_CONTROLLER, s.namespace, s.csi_replicas, spec)


def _host_path(name: str, path: str, kind: str) -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def csi_node(s: DeploySettings) -> dict[str, Any]:
    """On every node: root and privileged (it formats and mounts), the kubelet's directory
    with Bidirectional propagation (its mounts must reach the kubelet and the pods), /dev.
    Host network: IMDS (instance id, zone) with one hop; it never calls AWS."""
    plugin_dir = f"{s.kubelet_dir}/plugins/{DRIVER_NAME}/"
    driver = {
        "name": "ebs-plugin",
        "image": s.image,
        "command": ["k8s-aws", "csi-driver", "--mode=node",
                    f"--endpoint=unix://{NODE_SOCKET_DIR}/csi.sock"],
        "securityContext": {"privileged": True, "runAsUser": 0},
        "volumeMounts": [
            {"name": "kubelet-dir", "mountPath": s.kubelet_dir,
             "mountPropagation": "Bidirectional"},
            {"name": "plugin-dir", "mountPath": NODE_SOCKET_DIR},
            {"name": "device-dir", "mountPath": "/dev"},
        ],
    }
    registrar = {
        "name": "node-driver-registrar",
        "image": s.registrar_image,
        "args": [f"--csi-address={NODE_SOCKET_DIR}/csi.sock",
                 f"--kubelet-registration-path={plugin_dir}csi.sock"],
        "volumeMounts": [{"name": "plugin-dir", "mountPath": NODE_SOCKET_DIR},
                         {"name": "registration-dir", "mountPath": "/registration"}],
    }
    labels = {"app": CSI_NODE}
    spec = {
        "hostNetwork": True,
        "dnsPolicy": "ClusterFirstWithHostNet",
        "priorityClassName": "system-node-critical",
        "automountServiceAccountToken": False,  # neither container calls the API
        "tolerations": every_taint(),
        "containers": [driver, registrar],
        "volumes": [
            _host_path("kubelet-dir", s.kubelet_dir, "Directory"),
            _host_path("plugin-dir", plugin_dir, "DirectoryOrCreate"),
            _host_path("registration-dir", f"{s.kubelet_dir}/plugins_registry/", "Directory"),
            _host_path("device-dir", "/dev", "Directory"),
        ],
    }
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": CSI_NODE, "namespace": s.namespace, "labels": dict(labels)},
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "updateStrategy": {"type": "RollingUpdate",
                               "rollingUpdate": {"maxUnavailable": "10%"}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": spec},
        },
    }
