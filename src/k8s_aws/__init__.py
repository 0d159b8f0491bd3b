"""k8s-aws: the AWS integration for self-managed Kubernetes on EC2.

`__version__` is the one place the version is written: the product's and the sandbox's
distributions, the image's tag and labels, and CHANGELOG.md's newest entry are all read
from it (a unit test holds the changelog to it).
"""

__version__ = "0.2.0"
