"""The AWS emulator process: moto's server application on 127.0.0.1, nothing else listening.

Run as `python -m k8s_aws_sandbox.emulator --port P`. The fidelity layer (timing, validation,
faults, call log, crash hooks; see docs/testing.md) wraps moto's application unless
`--no-fidelity` (or K8S_AWS_FIDELITY=off) is given; `--fidelity-config FILE` (or
K8S_AWS_FIDELITY_CONFIG=FILE) sets its configuration, which the control API can change later.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

from k8s_aws.support import netguard
from k8s_aws_sandbox import moto_tags
from k8s_aws_sandbox.fidelity import config as fidelity_config
from k8s_aws_sandbox.fidelity.middleware import FidelityMiddleware
from k8s_aws_sandbox.loopdevices import LoopDevices
from k8s_aws_sandbox.ports import LOOPBACK

FIDELITY_ENV = "K8S_AWS_FIDELITY"  # "off" starts the emulator without the fidelity layer
FIDELITY_CONFIG_ENV = "K8S_AWS_FIDELITY_CONFIG"


def application(fidelity: fidelity_config.FidelityConfig | None = None,
                block_devices: LoopDevices | None = None) -> Any:
    """moto's app, wrapped in the fidelity layer unless `fidelity` is None."""
    app = DomainDispatcherApplication(create_backend_app)
    if fidelity is None:
        return app
    return FidelityMiddleware(app, fidelity, block_devices=block_devices)


def main() -> None:
    netguard.install_if_requested()
    parser = argparse.ArgumentParser(prog="k8s-aws-emulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fidelity-config", type=Path,
                        default=os.environ.get(FIDELITY_CONFIG_ENV) or None,
                        help="JSON fidelity configuration (default: built-in defaults)")
    parser.add_argument("--no-fidelity", action="store_true",
                        default=os.environ.get(FIDELITY_ENV, "").lower() in ("off", "0", "false"),
                        help="serve the bare emulator, without the fidelity layer")
    parser.add_argument("--block-device-dir", type=Path, default=None,
                        help="make attachments to registered instances loop devices here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    moto_tags.install()
    fidelity = None
    if not args.no_fidelity:
        try:
            fidelity = (fidelity_config.load(args.fidelity_config) if args.fidelity_config
                        else fidelity_config.FidelityConfig())
        except fidelity_config.ConfigError as exc:
            parser.error(str(exc))
    devices = None
    if args.block_device_dir is not None:
        devices = LoopDevices(args.block_device_dir)
        released = devices.release_all()  # leftovers of a killed emulator of this directory
        if released:
            logging.info("released leftover loop devices %s", ", ".join(released))
    run_simple(LOOPBACK, args.port, application(fidelity, devices), threaded=True,
               use_reloader=False)


if __name__ == "__main__":
    main()
