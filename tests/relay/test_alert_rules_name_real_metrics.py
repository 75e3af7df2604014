"""deploy/prometheus/relay-alerts.yml only uses series a relay worker exposes, with labels
those series have, so a renamed metric cannot leave an alert that never fires."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client.metrics import MetricWrapperBase

import relay.metrics

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "relay-alerts.yml"
SERIES = re.compile(r"\b(relay_[a-z_]+)(?:\{([^}]*)\})?")


def exposed() -> dict[str, set[str]]:
    """Series names of the relay's metrics (counters as ``*_total``) and their label names,
    whether or not a labelled series has been used yet."""
    found: dict[str, set[str]] = {}
    for metric in vars(relay.metrics).values():
        if isinstance(metric, MetricWrapperBase) and metric._name.startswith("relay_"):
            name = metric._name + ("_total" if metric._type == "counter" else "")
            found[name] = set(metric._labelnames)
    return found


def test_every_alert_expression_uses_exposed_series_and_labels():
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
    assert len(rules) >= 6
    metrics = exposed()
    for rule in rules:
        assert rule["alert"] and rule["annotations"]["summary"], rule
        for name, selector in SERIES.findall(rule["expr"]):
            assert name in metrics, f"{rule['alert']}: {name} is not exposed by a relay worker"
            for label in re.findall(r"(\w+)\s*=~?", selector or ""):
                assert label in metrics[name], f"{rule['alert']}: {name} has no label {label}"
