"""Vendored third-party JavaScript is exactly what package-lock.json pins (checked offline)."""

import json
import shutil

import pytest

from scripts import vendor_js


def test_the_vendored_files_match_their_manifest_and_the_lockfile():
    assert vendor_js.main(["--check"]) == 0


@pytest.fixture
def vendored_copy(tmp_path, monkeypatch):
    folder, files = vendor_js.VENDOR["axe-core"]
    copy = tmp_path / "vendor"
    shutil.copytree(folder, copy)
    monkeypatch.setitem(vendor_js.VENDOR, "axe-core", (copy, files))
    return copy


def test_a_changed_file_is_caught(vendored_copy, capsys):
    (vendored_copy / "axe.min.js").write_text("window.axe = {run: () => ({violations: []})};")
    assert vendor_js.main(["--check"]) == 1
    assert "was changed after vendoring" in capsys.readouterr().err


def test_a_version_the_lockfile_does_not_pin_is_caught(vendored_copy, capsys):
    manifest = json.loads((vendored_copy / "VENDORED.json").read_text())
    manifest["version"] = "4.0.0"
    (vendored_copy / "VENDORED.json").write_text(json.dumps(manifest))
    assert vendor_js.main(["--check"]) == 1
    assert "lockfile pins" in capsys.readouterr().err


def test_a_tarball_that_does_not_match_the_integrity_is_refused(monkeypatch, vendored_copy):
    monkeypatch.setattr(vendor_js, "fetch", lambda package, version: b"not the real tarball")
    with pytest.raises(vendor_js.VendorError, match="does not match the lockfile's integrity"):
        vendor_js.vendor("axe-core")
    assert vendor_js.main(["--check"]) == 0  # nothing was written
