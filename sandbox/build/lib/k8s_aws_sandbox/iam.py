"""Switch the emulator's IAM enforcement on, keeping an administrator for the sandbox itself.

Under enforcement the emulator checks SigV4 and evaluates IAM policies: the controllers, which
hold only the control VM's generated policy (through IMDS), must not be denied anything,
while the sandbox's own helpers (provisioning, IMDS, stand-in kubelets, test checks) act as
an administrator, as AWS itself would for them.
"""

from __future__ import annotations

import json
import urllib.request

from k8s_aws_sandbox.world import clients

ADMIN_USER = "k8s-aws-sandbox-admin"
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def enable_enforcement(endpoint: str, region: str) -> tuple[str, str]:
    """Create the administrator, then turn enforcement on; returns its (key id, secret)."""
    _, iam = clients(endpoint, region)
    iam.create_user(UserName=ADMIN_USER)
    iam.put_user_policy(
        UserName=ADMIN_USER, PolicyName="everything", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    admin_arn = iam.get_user(UserName=ADMIN_USER)["User"]["Arn"]
    key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    # The IMDS plays the EC2 service, which assumes instance roles: under enforcement it
    # does so as the administrator, so every EC2 trust policy names it too. (One statement
    # with both principals: the emulator cannot evaluate a Service-only statement for a user.)
    for role in iam.list_roles()["Roles"]:
        trust = json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com", "AWS": admin_arn},
                "Action": "sts:AssumeRole",
            }],
        })
        iam.update_assume_role_policy(RoleName=role["RoleName"], PolicyDocument=trust)
    # The body is the number of unauthenticated calls still allowed: none. Not a form post,
    # or the emulator reads an empty body.
    request = urllib.request.Request(
        f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError(f"could not switch IAM enforcement on: HTTP {response.status}")
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])
