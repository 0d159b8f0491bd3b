"""The sandbox's version and its pin on the product, read from the product's one version."""

import re
from pathlib import Path

from setuptools import setup

PRODUCT_INIT = Path(__file__).resolve().parent.parent / "src" / "k8s_aws" / "__init__.py"
VERSION = re.search(r'^__version__ = "([^"]+)"', PRODUCT_INIT.read_text(), re.M)
if VERSION is None:
    raise SystemExit(f"no __version__ in {PRODUCT_INIT}")

setup(
    version=VERSION.group(1),
    install_requires=[
        f"k8s-aws=={VERSION.group(1)}",
        "moto[server]==5.2.5",
        "cryptography==48.0.0",  # the sandbox's PKI
        "boto3==1.44.5",
        "kubernetes_asyncio==36.1.0",
        "PyYAML==6.0.3",
        "click==8.5.1",
    ],
)
