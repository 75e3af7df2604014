"""docs/protocol.md shows exactly the handshake and record examples the code produces."""

from __future__ import annotations

from pathlib import Path

import pytest

from relayproto.examples_crypto import generate_examples, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
EXAMPLES = generate_examples()


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_example_value_appears_verbatim_in_the_docs(name: str) -> None:
    text = DOC.read_text()
    assert EXAMPLES[name] in text, f"docs/protocol.md lacks the current {name}"
    line = next(line for line in text.splitlines() if line.startswith(f"{name} "))
    assert line.split()[-1] == EXAMPLES[name], f"docs/protocol.md has a stale {name}"


def test_rendered_block_is_in_the_docs() -> None:
    assert render_markdown() in DOC.read_text()


def test_examples_are_reproducible() -> None:
    assert generate_examples() == EXAMPLES
