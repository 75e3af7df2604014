"""What relay workers say to each other through the channel layer: the whole vocabulary.

Every message goes to one worker's inbox channel (one per worker, see relay.hub) and names in
``to`` the socket it is for; ``from`` is the sender's address as a tuple (inbox, socket,
worker) so the receiver can answer. DATA and CREDIT frames travel whole and unparsed in
``frame`` messages; the others are small control messages:

- ``relay.frame`` {cid, data, seq, from}: a frame for the socket's end of channel ``cid``;
  ``seq`` counts the channel's frames in this direction from 1, so a gap (frames Redis
  dropped) is seen and the channel reset rather than corrupted.
- ``relay.gone`` {cid, code, message}: the other end of ``cid`` went away.
- ``relay.open`` {cid, ref, client, routing_hash, from}: an app on another worker asks the
  instance socket for a channel; answered by ``relay.opened`` {cid, ref, from} or
  ``relay.refused`` {cid, ref, code, message}.
- ``relay.superseded`` {}: a newer socket registered this instance on another worker.
- ``relay.probe`` {token}: readiness probe a worker sends to its own inbox.
"""

from __future__ import annotations

from typing import Any

from relay.presence import Address

FRAME = "relay.frame"
GONE = "relay.gone"
OPEN = "relay.open"
OPENED = "relay.opened"
REFUSED = "relay.refused"
SUPERSEDED = "relay.superseded"
PROBE = "relay.probe"

Message = dict[str, Any]


def sender(address: Address) -> tuple[str, str, str]:
    """An address as it travels in ``from``."""
    return (address.inbox, address.socket, address.worker)


def reply_address(message: Message) -> Address:
    """The address a message came from (its ``from``)."""
    return Address(*message["from"])


def frame(cid: int, data: bytes, origin: Address, seq: int = 0) -> Message:
    """A frame for the peer's end of channel ``cid``, as received (``seq``: see above)."""
    return {"type": FRAME, "cid": cid, "data": data, "seq": seq, "from": sender(origin)}


def gone(cid: int, code: str, message: str) -> Message:
    """The other end of channel ``cid`` went away."""
    return {"type": GONE, "cid": cid, "code": str(code), "message": message}


def open_channel(
    cid: int, ref: int, client: str | None, routing_hash: str | None, origin: Address
) -> Message:
    """Ask a remote instance socket to open channel ``cid`` for an app's CONNECT ``ref``."""
    return {
        "type": OPEN,
        "cid": cid,
        "ref": ref,
        "client": client,
        "routing_hash": routing_hash,
        "from": sender(origin),
    }


def opened(cid: int, ref: int, origin: Address) -> Message:
    """The instance opened channel ``cid``."""
    return {"type": OPENED, "cid": cid, "ref": ref, "from": sender(origin)}


def refused(cid: int | None, ref: int | None, code: str, message: str) -> Message:
    """The instance (or its worker) could not open channel ``cid``."""
    return {"type": REFUSED, "cid": cid, "ref": ref, "code": str(code), "message": message}


def superseded() -> Message:
    """A newer socket registered the same instance elsewhere: close this one."""
    return {"type": SUPERSEDED}


def probe(token: str) -> Message:
    """A readiness probe to a worker's own inbox."""
    return {"type": PROBE, "token": token}
