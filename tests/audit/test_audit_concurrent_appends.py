"""Several processes appending to the audit trail at once still leave one unbroken chain."""

from __future__ import annotations

import subprocess
import sys

from tests.harness.daphne_workers import ROOT, migrate, worker_env

APPEND = """
import django
django.setup()
from audit import events
for n in range({count}):
    events.record("test.concurrent", actor="{name}", details={{"n": n}})
"""

VERIFY = """
import django
django.setup()
from audit import chain
from audit.models import AuditEvent
result = chain.verify()
print(result.ok, result.checked, AuditEvent.objects.count(), result.reason)
"""


def test_concurrent_processes_keep_the_chain_intact(tmp_path):
    env = worker_env(tmp_path / "data", None, "audit", None)
    migrate(env)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", APPEND.format(count=25, name=f"p{i}")], cwd=ROOT, env=env
        )
        for i in range(3)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    result = subprocess.run(
        [sys.executable, "-c", VERIFY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split()[:3] == ["True", "75", "75"], result.stdout + result.stderr
