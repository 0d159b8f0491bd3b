"""`k8s-aws doctor`'s cluster checks: every Node matched to exactly one instance and
initialized, the EBS CSIDriver and a CSINode per Node registered. Pure."""

from __future__ import annotations

from k8s_aws.deploy.csi_sidecars import DRIVER_NAME
from k8s_aws.model.doctor import Check, ClusterFacts, Status

DRIVER = DRIVER_NAME  # the CSIDriver the deployment registers
DEPLOY_CSI = ("k8s-aws deploy manifests --image REF --cluster-name C | kubectl apply -f - "
              "(CSIDriver, CSI controller, node DaemonSet)")


def node_checks(cluster: ClusterFacts) -> list[Check]:
    checks = []
    for node in cluster.nodes:
        if len(node.instances) != 1:
            found = ", ".join(node.instances) or "none"
            checks.append(Check("node-instance", Status.FAIL, f"Node {node.name} matches "
                                f"{len(node.instances)} instances ({found}); tried {node.tried}",
                                "give each VM its own BOSH id tag and the cluster tag "
                                "(k8s-aws bosh ops-file), or set the Node's providerID"))
        elif not node.initialized:
            checks.append(Check("node-initialized", Status.FAIL, f"Node {node.name} is not "
                                "initialized (no providerID, or the uninitialized taint)",
                                "kubectl describe node " + node.name + ": the controller-"
                                "manager's Warning Events say why"))
    if not checks:
        checks.append(Check("nodes", Status.PASS, f"{len(cluster.nodes)} Node(s), each "
                            "matched to one instance and initialized"))
    return checks


def csi_checks(cluster: ClusterFacts) -> list[Check]:
    if not cluster.csi_driver:
        return [Check("csi-driver", Status.FAIL, f"no CSIDriver {DRIVER} registered",
                      DEPLOY_CSI)]
    missing = sorted({n.name for n in cluster.nodes} - cluster.csi_nodes)
    if missing:
        return [Check("csi-nodes", Status.FAIL, f"Node(s) {', '.join(missing)} have no "
                      f"CSINode listing {DRIVER}", "run the node plugin (DaemonSet with "
                      "node-driver-registrar) on every node")]
    return [Check("csi-driver", Status.PASS, f"CSIDriver {DRIVER} and {len(cluster.csi_nodes)} "
                  "CSINode(s) registered")]
