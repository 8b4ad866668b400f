"""``python -m braze_emulator serve``: the stand-in on a real port, for the demo and benches.

Prints its URL, key and admin secret, then serves with uvicorn (one process, no access
log) until stopped. ``--port 0`` picks a free port and prints it.
"""

from __future__ import annotations

import argparse
import gc
import secrets
import socket
import sys

import uvicorn

from braze_emulator.app import create_app
from braze_emulator.workspace import BrazeWorkspace


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m braze_emulator")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the stand-in on a port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--key", default="braze-stand-in-key")
    serve.add_argument("--limit", type=int, default=3000, help="requests per window")
    serve.add_argument("--window", type=float, default=3.0, help="window, seconds")
    serve.add_argument("--max-objects", type=int, default=75)
    serve.add_argument("--admin-secret", default=None)
    args = parser.parse_args(argv)
    # The stand-in keeps every user, event and body it accepts; the cyclic collector,
    # rescanning that growing heap as each decoded body allocates thousands of objects,
    # took half of each request's time. What it holds has no cycles to collect.
    gc.disable()
    workspace = BrazeWorkspace(args.limit, args.window, args.max_objects)
    workspace.add_key(args.key)
    secret = args.admin_secret or secrets.token_urlsafe(16)
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off only on sockets that say
    # they are TCP, and with Nagle on every kept-alive answer waited ~40 ms for an ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    print(f"Braze stand-in: http://{args.host}:{port}", flush=True)
    print(f"api key:        {args.key}", flush=True)
    print(f"rate limit:     {args.limit} requests per {args.window:g} s", flush=True)
    print(f"admin secret:   {secret}", flush=True)
    config = uvicorn.Config(
        create_app(workspace, admin_secret=secret),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
