"""The deploy/ examples name settings and commands that exist."""

import re
from pathlib import Path

from django.core.management import get_commands

from relayproject import settings as project_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_env_examples_only_use_settings_the_project_reads():
    source = Path(project_settings.__file__).read_text()
    for example in DEPLOY.glob("*.env.example"):
        for line in example.read_text().splitlines():
            match = re.match(r"#?\s*(PULSE_[A-Z_]+?)(?:_FILE)?=", line)
            if match:
                assert f'"{match.group(1)}' in source, f"{example.name}: {match.group(1)}"


def test_units_run_management_commands_that_exist():
    commands = set(get_commands())
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for name in re.findall(r"manage\.py (\w+)", unit.read_text()):
            assert name in commands, f"{unit.name}: manage.py {name}"
