"""The client stands alone: importing it, its command included, pulls in no Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_client_and_its_command_does_not_import_django() -> None:
    code = (
        "import sys\n"
        "import relayclient, relayclient.cli, relayclient.__main__\n"
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')]\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
