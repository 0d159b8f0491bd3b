"""Relay loopback ports into a network namespace that has nothing but loopback.

A process we did not write (the reference cloud provider) must reach the sandbox's API
server, emulator and IMDS on 127.0.0.1 and nothing else: a forgotten endpoint override must
fail, not call AWS. It runs in a fresh network namespace (`unshare --net`): loopback only, no
route anywhere. Unix sockets cross namespaces, so each port goes through one:

    host  127.0.0.1:P  <-  relay (host side, unix:DIR/P.sock -> tcp:127.0.0.1:P)
    netns 127.0.0.1:P  ->  relay (netns side, tcp:127.0.0.1:P -> unix:DIR/P.sock)

`python -m k8s_aws_sandbox.relay [--loopback-up] LISTEN=CONNECT... [-- COMMAND...]`, with
each side `tcp:127.0.0.1:PORT` or `unix:PATH`. With a command, the relay listens first,
then runs it, and exits with its exit code. TCP is loopback only, on both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import socket
import struct
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from k8s_aws.support import netguard

CHUNK = 65536
_IFREQ = "16sH22s"  # struct ifreq: interface name, then ifr_flags in the union
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RelayError(ValueError):
    """A relay address that cannot be used; the message names it."""


@dataclass(frozen=True)
class Endpoint:
    kind: str  # "tcp" or "unix"
    host: str = ""
    port: int = 0
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        kind, _, rest = text.partition(":")
        if kind == "unix" and rest:
            return cls("unix", path=rest)
        if kind == "tcp":
            host, _, port = rest.rpartition(":")
            if not netguard.is_loopback(host):
                raise RelayError(f"{text}: only loopback addresses are relayed")
            if not port.isdigit():
                raise RelayError(f"{text}: the port must be a number")
            return cls("tcp", host=host, port=int(port))
        raise RelayError(f"{text}: expected tcp:127.0.0.1:PORT or unix:PATH")

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.kind == "unix":
            return await asyncio.open_unix_connection(self.path)
        return await asyncio.open_connection(self.host, self.port)

    async def serve(self, handler: Handler) -> asyncio.AbstractServer:
        if self.kind == "unix":
            Path(self.path).unlink(missing_ok=True)
            return await asyncio.start_unix_server(handler, self.path)
        return await asyncio.start_server(handler, self.host, self.port, reuse_address=True)


def parse_pairs(texts: list[str]) -> list[tuple[Endpoint, Endpoint]]:
    pairs = []
    for text in texts:
        listen, sep, connect = text.partition("=")
        if not sep:
            raise RelayError(f"{text}: expected LISTEN=CONNECT")
        pairs.append((Endpoint.parse(listen), Endpoint.parse(connect)))
    return pairs


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()


def _relay_to(target: Endpoint) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await target.connect()
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        for stream in (writer, upstream_writer):
            stream.close()

    return handle


async def run(pairs: list[tuple[Endpoint, Endpoint]], command: list[str]) -> int:
    servers = [await listen.serve(_relay_to(connect)) for listen, connect in pairs]
    try:
        if not command:
            await asyncio.Event().wait()
            return 0
        process = await asyncio.create_subprocess_exec(*command)
        return await process.wait()
    finally:
        for server in servers:
            server.close()


def loopback_up() -> None:
    """A new network namespace has loopback, down: bring it up (nothing else exists there).
    The ioctl `ip link set lo up` makes, so no Debian package is needed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack(_IFREQ, b"lo", 0, b"")
        flags = struct.unpack(_IFREQ, fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP, b""))


def main(argv: list[str] | None = None) -> None:
    netguard.install_if_requested()
    args = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, command = args[:cut], args[cut + 1:]
    parser = argparse.ArgumentParser(prog="k8s-aws-relay")
    parser.add_argument("--loopback-up", action="store_true")
    parser.add_argument("pairs", nargs="+", metavar="LISTEN=CONNECT")
    options = parser.parse_args(args)
    try:
        pairs = parse_pairs(options.pairs)
    except RelayError as exc:
        sys.exit(f"k8s-aws-relay: {exc}")
    if options.loopback_up:
        loopback_up()
    sys.exit(asyncio.run(run(pairs, command)))


if __name__ == "__main__":
    main()
