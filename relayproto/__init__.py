"""Relay's framework-free wire protocol: outer frames, Noise IKpsk2, records and streams.

Nothing in this package imports Django; the relay, the instance and the reference
client all build on it.
"""

PROTOCOL_VERSION = 1
