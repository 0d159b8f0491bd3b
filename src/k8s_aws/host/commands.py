"""Running the node's storage tools: one async helper, one error carrying what the tool said."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Sequence

log = logging.getLogger("k8s_aws.host")


class HostError(Exception):
    """A storage tool failed; the message names the command and quotes its stderr."""

    def __init__(self, argv: Sequence[str], code: int, output: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {code}: {output.strip()[-500:]}")
        self.argv = tuple(argv)
        self.code = code
        self.output = output


async def run(*argv: str, ok: Sequence[int] = (0,)) -> str:
    """Run a tool, return its stdout; HostError unless its exit code is in `ok`."""
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await process.communicate()
    code = process.returncode if process.returncode is not None else -1
    if code not in ok:
        raise HostError(argv, code, err.decode(errors="replace") or out.decode(errors="replace"))
    log.debug("%s -> %s", " ".join(argv), code)
    return out.decode(errors="replace")


def run_sync(*argv: str, ok: Sequence[int] = (0,)) -> str:
    """The same, for callers outside an event loop (the sandbox's emulator)."""
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            check=False)
    if result.returncode not in ok:
        raise HostError(argv, result.returncode, result.stderr or result.stdout)
    return result.stdout
