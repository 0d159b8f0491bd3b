"""`k8s-aws setup`: the controllers' policy, role and instance profile, a worker profile with no
EC2 permissions, and optional subnet tags; a dry run prints the plan, a rerun changes nothing."""

from __future__ import annotations

import click

from k8s_aws.cli.operator_common import fail, given, split_list
from k8s_aws.cloud.errors import CloudError
from k8s_aws.cloud.iam_setup import apply_setup, observe_setup
from k8s_aws.cloud.operations import FEATURES
from k8s_aws.cloud.operator_session import operator_clients, resolve_region
from k8s_aws.model.iam import SetupAction
from k8s_aws.ops.bosh import DEFAULT_PROFILE
from k8s_aws.ops.iam_policy import PolicyInputError
from k8s_aws.ops.setup_plan import SetupRequest, plan_setup, validate


@click.command("setup")
@click.option("--cluster-name", required=True, help="The release's cluster.name.")
@click.option("--features", default=",".join(FEATURES), show_default=True,
              help="Comma-separated features the controllers run.")
@click.option("--profile", default=DEFAULT_PROFILE, show_default=True,
              help="Name of the controllers' policy, role and instance profile (control VMs).")
@click.option("--worker-profile", default="", help="Role and instance profile of worker VMs, "
              "with no policy [default: PROFILE-worker].")
@click.option("--tag-subnets", multiple=True, metavar="SUBNET[,SUBNET]",
              help="Node (private) subnets: add the cluster tag and role/internal-elb=1.")
@click.option("--public-subnets", multiple=True, metavar="SUBNET[,SUBNET]",
              help="Public subnets for load balancers: add the cluster tag and role/elb=1.")
@click.option("--subnet-tag-value", default="shared", show_default=True,
              help="Cluster tag value on the subnets: shared (never deleted) or owned.")
@click.option("--adopt", is_flag=True, help="Take over a role, profile or policy of that name "
              "that k8s-aws setup did not create (tags it as ours).")
@click.option("--region", default="", help="AWS region; else AWS_REGION, else IMDS.")
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
def setup(cluster_name: str, features: str, profile: str, worker_profile: str,
          tag_subnets: tuple[str, ...], public_subnets: tuple[str, ...], subnet_tag_value: str,
          adopt: bool, region: str, dry_run: bool) -> None:
    """Create or update the IAM pieces and tags the cluster needs (idempotent)."""
    request = SetupRequest(
        cluster=cluster_name, profile=profile, worker_profile=worker_profile or f"{profile}-worker",
        features=split_list(features), adopt=adopt, tag_subnets=split_list(*tag_subnets),
        public_subnets=split_list(*public_subnets), subnet_tag_value=subnet_tag_value,
    )
    try:
        validate(request)
        if given("subnet_tag_value") and not (request.tag_subnets or request.public_subnets):
            raise PolicyInputError("--subnet-tag-value only applies with --tag-subnets or "
                                   "--public-subnets")
        aws = operator_clients(resolve_region(region)[0], "setup")
        iam, ec2 = aws.client("iam"), aws.client("ec2")
        observed = observe_setup(iam, ec2, aws.client("sts"), request.profile,
                                 (request.profile, request.worker_profile),
                                 (*request.tag_subnets, *request.public_subnets))
        planned = plan_setup(request, observed)
    except (PolicyInputError, CloudError) as exc:
        fail(exc)
    for line in planned.foreign:
        click.echo(f"refused: {line}", err=True)
    if planned.refused:
        fail("nothing changed: a name above belongs to someone else", code=1)
    if not planned.actions:
        click.echo(f"nothing to change: policy, role and instance profile {request.profile}, "
                   f"worker {request.worker_profile} and the subnet tags are up to date")
        return
    if dry_run:
        for action in planned.actions:
            click.echo(f"would: {action.describe()}")
        click.echo(f"dry run: {len(planned.actions)} change(s), none made")
        return

    def report(action: SetupAction) -> None:
        click.echo(f"done: {action.describe()}")

    try:
        apply_setup(iam, ec2, planned.actions, report)
    except CloudError as exc:
        fail(exc, code=1)
