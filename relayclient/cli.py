"""``python -m relayclient``: pair with an instance and call it through its relay.

Exit codes: 0 success, 1 an HTTP status of 400 or more (``request``), 2 usage, 3 a client error
(printed as ``error: CODE: message``), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from relayclient import errors
from relayclient.calls import Body
from relayclient.channel import ConnectionFactory, connect_app, connect_app_trusting
from relayclient.cli_io import OutputFile, file_chunks, thread_reader
from relayclient.client import PairOutcome, RelayClient
from relayclient.errors import ClientError
from relayclient.sse import SSEEvent
from relayclient.state import StateFile, default_state_path
from relayproto.handshake import key_fingerprint

EXIT_OK, EXIT_HTTP, EXIT_USAGE, EXIT_CLIENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
WS_CLOSE_WAIT = 10.0
USAGE_CODES = {errors.SERVER_AMBIGUOUS, errors.INVALID_ARGUMENT}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m relayclient",
        description="Reference Relay client: pair with a home instance, then make HTTP, SSE "
        "and WebSocket calls to it end-to-end encrypted through its relay.",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        help=f"state file with this client's keys (default {default_state_path()})",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log protocol events")
    parser.add_argument(
        "--handshake-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="how long to wait for the instance to answer a handshake (default 20)",
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        default=os.environ.get("PULSE_RELAY_CA_FILE") or None,
        metavar="PEM",
        help="for a wss:// relay with a private certificate: trust only this CA "
        "(default $PULSE_RELAY_CA_FILE, else the system's CAs)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    pair = commands.add_parser("pair", help="pair from a pulse:// link or a QR code image")
    pair.add_argument("invite", metavar="LINK_OR_QR_PNG")
    pair.add_argument("--name", help="alias for this server (default: its instance id)")
    pair.add_argument("--device-name", help="how the instance lists this device (default: host)")

    request = commands.add_parser("request", help="send an HTTP request")
    request.add_argument("method", metavar="METHOD")
    request.add_argument("path", metavar="PATH")
    _server_option(request)
    request.add_argument(
        "--data", "-d", metavar="@FILE|-|TEXT", help="request body: @file, - for stdin, or text"
    )
    request.add_argument(
        "--header", "-H", action="append", default=[], metavar="K:V", help="repeatable"
    )
    request.add_argument("-o", "--output", type=Path, help="write the body to FILE, not stdout")
    request.add_argument("--include", "-i", action="store_true", help="print response headers")

    sse = commands.add_parser("sse", help="print server-sent events as they arrive")
    sse.add_argument("path", metavar="PATH")
    _server_option(sse)
    sse.add_argument("--limit", type=_positive, help="stop after N events")
    sse.add_argument("--json", action="store_true", help="one JSON object per event")

    ws = commands.add_parser("ws", help="WebSocket: stdin lines out, messages to stdout")
    ws.add_argument("path", metavar="PATH")
    _server_option(ws)

    commands.add_parser("servers", help="list paired servers (never their secrets)")
    forget = commands.add_parser("forget", help="remove a server and its keys")
    forget.add_argument("server", metavar="SERVER")
    return parser


def _server_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server", "-s", help="server alias (may be left out when only one is paired)"
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_headers(values: Sequence[str]) -> list[tuple[str, str]]:
    """``K:V`` options as header pairs; ValueError names a malformed one."""
    headers = []
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"header {value!r} is not NAME:VALUE")
        headers.append((name.strip().lower(), content.strip()))
    return headers


def request_body(data: str | None, stdin: BinaryIO) -> tuple[Body, list[tuple[str, str]]]:
    """The body for ``--data`` and any header it implies (content-length of a file)."""
    if data is None:
        return None, []
    if data == "-":
        return thread_reader(stdin), []
    if data.startswith("@"):
        path = Path(data[1:])
        if not path.is_file():
            raise ClientError(errors.INVALID_ARGUMENT, f"--data: no such file {path}")
        return file_chunks(path), [("content-length", str(path.stat().st_size))]
    return data.encode("utf-8"), []


class Cli:
    """One command-line invocation: its streams and its client."""

    def __init__(
        self, args: argparse.Namespace, client: RelayClient, stdin: BinaryIO, out: BinaryIO,
        err: TextIO,
    ) -> None:  # fmt: skip
        self.args = args
        self.client = client
        self.stdin = stdin
        self.out = out
        self.err = err

    def say(self, text: str) -> None:
        """A line for the human, on stderr."""
        print(text, file=self.err, flush=True)

    async def run(self) -> int:
        """Dispatch to the subcommand."""
        handler = getattr(self, f"cmd_{self.args.command}")
        async with self.client:
            return await handler()

    async def cmd_pair(self) -> int:
        """Pair and tell the user what to compare and approve."""
        outcome: PairOutcome = await self.client.pair(
            self.args.invite,
            name=self.args.name,
            device_name=self.args.device_name,
            on_sas=lambda sas: self.say(
                f"Verification code: {sas[:3]} {sas[3:]}  (it must match the instance's screen)"
            ),
        )
        if outcome.status == "active":
            self.say(f"Paired: server {outcome.server!r} is active.")
        else:
            self.say(
                f"Paired, waiting for approval: on the instance, open Settings → Relay → devices,"
                f" check the code {outcome.sas[:3]} {outcome.sas[3:]} matches and approve this "
                f"device. Requests to {outcome.server!r} work once it is approved."
            )
        return EXIT_OK

    async def cmd_request(self) -> int:
        """Send the request; status to stderr, body streamed to stdout or a file."""
        try:
            headers = parse_headers(self.args.header)
        except ValueError as exc:
            raise ClientError(errors.INVALID_ARGUMENT, str(exc)) from None
        body, implied = request_body(self.args.data, self.stdin)
        names = {name for name, _ in headers}
        headers += [(k, v) for k, v in implied if k not in names]
        response = await self.client.request(
            self.args.server, self.args.method, self.args.path, body=body, headers=headers
        )
        async with response:
            try:
                phrase = http.HTTPStatus(response.status).phrase
            except ValueError:
                phrase = ""
            self.say(f"HTTP {response.status} {phrase}".rstrip())
            if self.args.include:
                for name, value in response.headers:
                    self.say(f"{name}: {value}")
            await self._save_body(response.iter_bytes())
        return EXIT_HTTP if response.status >= 400 else EXIT_OK

    async def _save_body(self, chunks: AsyncIterator[bytes]) -> None:
        if self.args.output is None:
            async for chunk in chunks:
                self.out.write(chunk)
                self.out.flush()
            return
        target = OutputFile(self.args.output)
        try:
            async for chunk in chunks:
                target.write(chunk)
        except BaseException:
            target.discard()  # never leave a truncated body looking complete
            raise
        target.commit()

    async def cmd_sse(self) -> int:
        """Print each event as soon as it arrives."""
        count = 0
        async with await self.client.sse(self.args.server, self.args.path) as events:
            async for event in events:
                self.out.write(format_event(event, as_json=self.args.json).encode("utf-8"))
                self.out.flush()
                count += 1
                if self.args.limit is not None and count >= self.args.limit:
                    break
        return EXIT_OK

    async def cmd_ws(self) -> int:
        """Relay stdin lines as text messages and print what comes back."""
        socket = await self.client.websocket(self.args.server, self.args.path)

        async def printer() -> None:
            async for message in socket:
                if isinstance(message, str):
                    line = message
                else:
                    line = "base64:" + base64.b64encode(message).decode("ascii")
                self.out.write(line.encode("utf-8") + b"\n")
                self.out.flush()

        loop = asyncio.get_running_loop()
        receiving = loop.create_task(printer())
        sending = loop.create_task(self._send_lines(socket))
        try:
            done, _ = await asyncio.wait({receiving, sending}, return_when=asyncio.FIRST_COMPLETED)
            if sending in done:
                sending.result()
                # stdin ended: say goodbye, but keep printing until the instance's own close so
                # that answers still in flight (``echo hi | ... ws``) are not lost.
                await socket.shutdown()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(receiving), WS_CLOSE_WAIT)
            if receiving.done():
                receiving.result()
        finally:
            sending.cancel()
            receiving.cancel()
            await socket.close()
        if socket.close_code is not None:
            self.say(f"closed by the instance: {socket.close_code} {socket.close_reason or ''}")
        return EXIT_OK

    async def _send_lines(self, socket) -> None:
        async for line in thread_reader(self.stdin, lines=True):
            await socket.send(line.decode("utf-8", "replace").rstrip("\r\n"))

    async def cmd_servers(self) -> int:
        """List the paired servers."""
        state = self.client.state.load()
        if state.public_key is not None:
            self.say(f"this client's key: {key_fingerprint(state.public_key)}")
        servers = self.client.servers()
        if not servers:
            self.say("no server is paired: run `pair` with a link or QR image")
            return EXIT_OK
        for server in servers:
            line = (
                f"{server.alias}\t{server.status}\tinstance {server.instance_id}\t"
                f"{server.relay_url}\tkey {server.fingerprint}\tdevice {server.device_name!r}\t"
                f"paired {server.paired_at}\n"
            )
            self.out.write(line.encode("utf-8"))
        self.out.flush()
        return EXIT_OK

    async def cmd_forget(self) -> int:
        """Remove a server from the state file."""
        server = self.client.forget(self.args.server)
        self.say(
            f"Forgot {server.alias!r}. The instance still lists the device "
            f"{server.device_name!r}: revoke it there too."
        )
        return EXIT_OK


def format_event(event: SSEEvent, *, as_json: bool = False) -> str:
    """An event in event-stream form (or as one JSON line), ending with its blank line."""
    if as_json:
        fields = {"event": event.event, "data": event.data, "id": event.id}
        return json.dumps(fields, ensure_ascii=False) + "\n"
    lines = [] if event.event == "message" else [f"event: {event.event}"]
    if event.id is not None:
        lines.append(f"id: {event.id}")
    lines += [f"data: {line}" for line in event.data.split("\n")]
    return "\n".join(lines) + "\n\n"


def main(
    argv: Sequence[str] | None = None,
    *,
    connect: ConnectionFactory = connect_app,
    stdin: BinaryIO | None = None,
    stdout: BinaryIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; returns the exit code."""
    err = stderr or sys.stderr
    args = build_parser().parse_args(argv)  # exits 2 on a usage error
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=err,
        format="%(levelname)s %(name)s: %(message)s",
    )
    state = StateFile(args.state)
    if state.permissions_too_open():
        print(
            f"warning: {state.path} is readable by other users and holds private keys: "
            f"chmod 600 {state.path}",
            file=err,
        )
    if args.ca_file is not None and connect is connect_app:
        try:
            connect = connect_app_trusting(args.ca_file)
        except ValueError as exc:
            print(f"error: {errors.INVALID_ARGUMENT}: {exc}", file=err)
            return EXIT_USAGE
    client = RelayClient(state, connect=connect, handshake_timeout=args.handshake_timeout)
    cli = Cli(args, client, stdin or sys.stdin.buffer, stdout or sys.stdout.buffer, err)
    try:
        return asyncio.run(cli.run())
    except ClientError as exc:
        print(f"error: {exc.code}: {exc.message}", file=err)
        return EXIT_USAGE if exc.code in USAGE_CODES else EXIT_CLIENT
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return EXIT_INTERRUPTED
    except OSError as exc:  # local files and pipes: the call itself went fine
        print(f"error: LOCAL_IO: {exc}", file=err)
        return EXIT_CLIENT
