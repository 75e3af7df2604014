"""Fuzz every decoder in relayproto: any input must give a value or a ProtocolError.

    python fuzz/fuzz_decoders.py --seconds 300           # atheris if installed, else mutation
    python fuzz/fuzz_decoders.py --min-inputs 1000000    # mutation: at least 10^6 per decoder
    python fuzz/fuzz_decoders.py --seconds 10 --target inner.decode_message --engine hypothesis
    python fuzz/fuzz_decoders.py --list

The first input byte picks the target (so one libFuzzer corpus covers them all); the rest is the
target's input. Exit status 0: nothing but ProtocolErrors in the time given; 1: some other
exception escaped (the traceback and the input are printed); 2: bad command line.
atheris is optional (``pip install atheris``). Without it the mutation engine runs every
decoder in turn on random bytes and on mutations of valid encodings (bit flips, cuts, inserted
and overwritten bytes, splices of two seeds), at hundreds of thousands of inputs a second, until
each has had ``--min-inputs`` and the time is up; it reports the count per decoder and exits 3
when the time ran out before a decoder had its minimum. The hypothesis engine does the same
mixing more slowly.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

Target = Callable[[bytes], Any]


def _consume(value: Any) -> Any:
    """Drain generators so lazy decoders (unpack_records) really run."""
    return list(value) if hasattr(value, "__next__") else value


def load_targets() -> dict[str, Target]:
    """Import the decoders (inside atheris' instrumentation when it is active)."""
    from relayproto import control, frames, inner
    from relayproto.streams import Multiplexer, Role

    targets: dict[str, Target] = {
        "frames.decode_frame": lambda d: frames.decode_frame(d, max_payload=4096),
        "frames.peek_header": lambda d: frames.peek_header(d, max_payload=4096),
        "frames.decode_credit": frames.decode_credit,
        "frames.decode_ping": frames.decode_ping,
        "control.decode_control": lambda d: _decode_control(frames, control, d),
        "inner.decode_message": inner.decode_message,
        "streams.client_receive": lambda d: _feed(Multiplexer(Role.CLIENT), d, client=True),
        "streams.server_receive": lambda d: _feed(Multiplexer(Role.SERVER), d, client=False),
    }
    for cls in control.CONTROL_CLASSES.values():
        targets[f"control.{cls.__name__}.from_payload"] = cls.from_payload
    targets.update(_crypto_targets())
    return targets


def _decode_control(frames: Any, control: Any, data: bytes) -> Any:
    """Put the bytes behind a valid header of the type named by the first byte."""
    if not data:
        return None
    types = [t for t in frames.FrameType if t is not frames.FrameType.DATA]
    frame_type = types[data[0] % len(types)]
    channel = 1 if frame_type in frames.CHANNEL_FRAME_TYPES else 0
    frame = frames.decode_frame(frames.encode_header(frame_type, channel, len(data) - 1) + data[1:])
    return control.decode_control(frame)


def _feed(mux: Any, data: bytes, *, client: bool) -> None:
    """Split the input into u8-length-prefixed inner messages and feed them in order."""
    from relayproto.errors import StreamError
    from relayproto.inner import StreamKind

    if client:
        mux.open_stream(StreamKind.HTTP, "POST", "/a")
        mux.open_stream(StreamKind.WEBSOCKET, "GET", "/ws")
    pos = 0
    try:
        while pos < len(data):
            size = data[pos]
            mux.receive(data[pos + 1 : pos + 1 + size])
            pos += 1 + size
    except StreamError:
        pass
    mux.data_to_send()
    mux.connection_lost()


def _crypto_targets() -> dict[str, Target]:
    """The crypto helper's decoders, when those modules exist."""
    targets: dict[str, Target] = {}
    try:
        from relayproto import handshake
    except ImportError:
        handshake = None  # type: ignore[assignment]
    if handshake is not None:
        targets["handshake.Message1Payload.decode"] = handshake.Message1Payload.decode
        targets["handshake.Message2Payload.decode"] = handshake.Message2Payload.decode
        static = bytes(range(32))
        prologue = handshake.make_prologue(7, "home-1")
        targets["handshake.Responder.read_message1"] = lambda d: handshake.Responder(
            static_private=static, prologue=prologue
        ).read_message1(d)
    try:
        from relayproto import records
    except ImportError:
        records = None  # type: ignore[assignment]
    if records is not None:
        targets["records.unpack_records"] = lambda d: _consume(records.unpack_records(d))
    try:
        from relayproto import licence
    except ImportError:
        licence = None  # type: ignore[assignment]
    if licence is not None:
        targets["licence.parse_unverified"] = lambda d: licence.parse_unverified(
            d.decode("latin-1")
        )
    return targets


def seed_inputs() -> dict[str, list[bytes]]:
    """Valid encodings per target, for mutation: most bugs hide one byte away from valid."""
    from relayproto import control, frames, inner

    register = control.Register(licence="pulse-lic1.e30.c2ln", client="fuzz/1")
    ack = control.RegisterAck(
        "home-1", "r", 1, control.Limits(max_frame=4096, window=1, max_channels=1, ping_interval=1)
    )
    payloads = [m.to_payload() for m in (register, ack, control.Error(frames.ErrorCode.INTERNAL))]
    messages = [
        inner.encode_message(m)
        for m in (
            inner.StreamOpen(1, inner.StreamKind.HTTP, "GET", "/a?b", (("k", "v"),)),
            inner.ResponseHead(1, 200, (("content-type", "text/plain"),)),
            inner.Data(1, b"body"),
            inner.WsMessage(3, b"hi", text=True),
            inner.WsClose(3, 1000, "bye"),
            inner.Reset(1, inner.ResetCode.CANCELLED, "x"),
            inner.WindowUpdate(0, 10),
            inner.PairConfirm("phone", "ios"),
            inner.Close(inner.CloseCode.NORMAL, ""),
        )
    ]
    frames_ = [
        control.encode_control(register),
        control.encode_control(control.Close(control.CloseReason.NORMAL), 5),
        frames.encode_credit(5, 100),
        frames.encode_frame(frames.FrameType.DATA, 5, b"\x00\x10" + b"r" * 16),
    ]
    head = inner.encode_message(inner.ResponseHead(1, 200))
    stream = bytes([len(head)]) + head + bytes([9]) + inner.encode_data(1, b"abcd")
    return {
        "frames.": frames_,
        "control.": payloads + [b"\x01" + p for p in payloads],
        "inner.": messages,
        "streams.": [stream],
        "records.": [b"\x00\x10" + b"r" * 16],
    }


def run_one(targets: list[tuple[str, Target]], data: bytes) -> None:
    """Run the target picked by the first byte; let anything but ProtocolError escape."""
    from relayproto.errors import ProtocolError

    if not data:
        return
    _, target = targets[data[0] % len(targets)]
    with contextlib.suppress(ProtocolError):
        target(data[1:])


def _atheris_main(atheris: Any, chosen: list[tuple[str, Target]], seconds: int) -> int:
    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}"], lambda data: run_one(chosen, data))
    atheris.Fuzz()  # exits the process itself; non-zero when an exception escaped
    return 0


def _hypothesis_main(chosen: list[tuple[str, Target]], seconds: float) -> int:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    seeds = seed_inputs()

    def seeds_for(index: int) -> list[bytes]:
        name = chosen[index][0]
        return [s for prefix, values in seeds.items() if name.startswith(prefix) for s in values]

    @st.composite
    def inputs(draw: Any) -> bytes:
        index = draw(st.integers(0, len(chosen) - 1))
        candidates = seeds_for(index)
        if candidates and draw(st.booleans()):
            data = bytearray(draw(st.sampled_from(candidates)))
            for _ in range(draw(st.integers(1, 4))):
                if not data:
                    break
                spot = draw(st.integers(0, len(data) - 1))
                action = draw(st.sampled_from(["flip", "cut", "grow", "byte"]))
                if action == "flip":
                    data[spot] ^= 1 << draw(st.integers(0, 7))
                elif action == "cut":
                    del data[spot:]
                elif action == "grow":
                    data[spot:spot] = draw(st.binary(min_size=1, max_size=8))
                else:
                    data[spot] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
            body = bytes(data)
        else:
            body = draw(st.binary(max_size=512))
        return bytes([index]) + body

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs())
    def batch(data: bytes) -> None:
        run_one(chosen, data)

    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        try:
            batch()
        except Exception:
            traceback.print_exc()
            print("FUZZ FAILURE: a decoder raised something other than ProtocolError", flush=True)
            return 1
        runs += 300
    print(f"fuzz: {runs} inputs over {len(chosen)} targets, no foreign exceptions", flush=True)
    return 0


INTERESTING = (0, 1, 0x7F, 0x80, 0xFF)


def _mutate(rng: Any, seeds: list[bytes]) -> bytes:
    """One input: random bytes, or a valid encoding a few edits away from valid."""
    if not seeds or rng.random() < 0.25:
        return rng.randbytes(rng.randrange(0, 96))
    data = bytearray(rng.choice(seeds))
    for _ in range(rng.randrange(1, 5)):
        action = rng.randrange(6)
        spot = rng.randrange(len(data) + 1)
        if action == 0 and data:
            data[min(spot, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            del data[spot:]
        elif action == 2:
            data[spot:spot] = rng.randbytes(rng.randrange(1, 9))
        elif action == 3 and data:
            data[min(spot, len(data) - 1)] = rng.choice(INTERESTING)
        elif action == 4:
            other = rng.choice(seeds)
            data[spot:] = other[rng.randrange(len(other) + 1) :]
        elif action == 5 and len(data) > 1:
            del data[spot : spot + rng.randrange(1, 9)]
    return bytes(data)


def _mutation_main(
    chosen: list[tuple[str, Target]], seconds: float, min_inputs: int, seed: int | None
) -> int:
    import random

    from relayproto.errors import ProtocolError

    rng = random.Random(seed)
    seeds = seed_inputs()
    pools = {
        name: [v for prefix, values in seeds.items() if name.startswith(prefix) for v in values]
        for name, _ in chosen
    }
    counts = dict.fromkeys(pools, 0)
    deadline = time.monotonic() + seconds
    batch = 2000
    while True:
        for name, target in chosen:
            pool = pools[name]
            for _ in range(batch):
                data = _mutate(rng, pool)
                try:
                    target(data)
                except ProtocolError:
                    pass
                except Exception:
                    traceback.print_exc()
                    print(f"FUZZ FAILURE in {name}: input {data.hex()}", flush=True)
                    return 1
            counts[name] += batch
        short = min(counts.values()) < min_inputs
        if time.monotonic() >= deadline and not short:
            break
        if time.monotonic() >= deadline + seconds:  # twice the budget: report what it got
            break
    total = sum(counts.values())
    for name, count in counts.items():
        print(f"  {name:36} {count:>10,} inputs", flush=True)
    print(f"fuzz: {total:,} inputs over {len(chosen)} targets, no foreign exceptions", flush=True)
    if min(counts.values()) < min_inputs:
        print(f"fuzz: not every decoder reached {min_inputs:,} inputs: give more --seconds")
        return 3
    return 0


def _import_atheris() -> Any:
    try:
        import atheris  # type: ignore[import-not-found]
    except ImportError:
        return None
    return atheris


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and fuzz; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="time budget (default 30)")
    parser.add_argument("--target", action="append", help="only this target (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument(
        "--engine",
        choices=["auto", "atheris", "mutation", "hypothesis"],
        default="auto",
        help="auto: atheris if installed, else mutation",
    )
    parser.add_argument("--no-atheris", action="store_true", help="same as --engine mutation")
    parser.add_argument(
        "--min-inputs",
        type=int,
        default=0,
        help="mutation engine: keep going (up to twice --seconds) until every decoder had this "
        "many inputs, else exit 3",
    )
    parser.add_argument("--seed", type=int, default=None, help="mutation engine: random seed")
    args = parser.parse_args(argv)
    engine = "mutation" if args.no_atheris and args.engine == "auto" else args.engine
    atheris = None
    if engine in ("auto", "atheris") and not args.list:
        atheris = _import_atheris()
        if atheris is None and engine == "atheris":
            print("atheris is not installed: pip install atheris", file=sys.stderr)
            return 2
    if atheris is not None:
        # Coverage feedback needs the decoders imported inside the instrumentation.
        with atheris.instrument_imports():
            targets = load_targets()
    else:
        targets = load_targets()
    if args.list:
        print("\n".join(targets))
        return 0
    names = args.target or list(targets)
    unknown = [name for name in names if name not in targets]
    if unknown:
        print(f"unknown target(s): {', '.join(unknown)}; see --list", file=sys.stderr)
        return 2
    chosen = [(name, targets[name]) for name in names]
    if atheris is not None:
        return _atheris_main(atheris, chosen, max(1, int(args.seconds)))
    if engine == "hypothesis":
        return _hypothesis_main(chosen, args.seconds)
    return _mutation_main(chosen, args.seconds, args.min_inputs, args.seed)


if __name__ == "__main__":
    sys.exit(main())
