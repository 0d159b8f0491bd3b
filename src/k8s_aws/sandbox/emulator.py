"""The AWS emulator process: moto's server application on 127.0.0.1, nothing else listening.

Run as `python -m k8s_aws.sandbox.emulator --port P`. The fidelity layer of a later issue
wraps `application()`.
"""

from __future__ import annotations

import argparse
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

from k8s_aws.sandbox.ports import LOOPBACK
from k8s_aws.support import netguard


def application() -> Any:
    return DomainDispatcherApplication(create_backend_app)


def main() -> None:
    netguard.install_if_requested()
    parser = argparse.ArgumentParser(prog="k8s-aws-emulator")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    run_simple(LOOPBACK, args.port, application(), threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
