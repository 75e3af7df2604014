"""Running ``python -m relayclient`` in process against the fake instance."""

from __future__ import annotations

import io
from dataclasses import dataclass

from relayclient.cli import main
from tests.relayclient.fake_instance import FakeRelay, factory


@dataclass
class Run:
    """What one command printed and returned."""

    code: int
    out: bytes
    err: str


def run_cli(state_path, *args: str, relay: FakeRelay | None = None, stdin: bytes = b"") -> Run:
    """Run the command line with its streams captured and its relay faked."""
    out, err = io.BytesIO(), io.StringIO()
    kwargs = {"connect": factory(relay)} if relay is not None else {}
    code = main(
        ["--state", str(state_path), "--handshake-timeout", "2", *args],
        stdin=io.BytesIO(stdin),
        stdout=out,
        stderr=err,
        **kwargs,
    )
    return Run(code, out.getvalue(), err.getvalue())
