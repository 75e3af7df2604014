"""Vendor third-party JavaScript from the npm registry, checked against package-lock.json.

For each package below, ``npm pack`` fetches the tarball of the version the lockfile pins;
its SHA-512 must equal the lockfile's ``integrity`` or nothing is written. The chosen files
are copied into the repository with a manifest (``VENDORED.json`` beside them) that records
the package, version, integrity and each file's SHA-256, which ``--check`` (and a test)
verify without the network. Run it after changing a version in package.json and running
``npm install --package-lock-only``:

    python scripts/vendor_js.py            # fetch, verify, write
    python scripts/vendor_js.py --check    # verify the vendored files against the manifest
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCKFILE = ROOT / "package-lock.json"

# package -> (destination folder, {file in the tarball: file name to write})
VENDOR = {
    # Accessibility checks in the browser tests (never served to users).
    "axe-core": (ROOT / "tests" / "browser" / "vendor", {"package/axe.min.js": "axe.min.js"}),
}


class VendorError(Exception):
    """The lockfile, a tarball or a vendored file is not what it should be."""


def locked(package: str) -> tuple[str, str]:
    """(version, integrity) of ``package`` in package-lock.json."""
    entry = json.loads(LOCKFILE.read_text())["packages"].get(f"node_modules/{package}")
    if not entry or "integrity" not in entry:
        raise VendorError(
            f"{package} is not in package-lock.json: run npm install --package-lock-only"
        )
    return entry["version"], entry["integrity"]


def integrity_of(data: bytes) -> str:
    """The Subresource-Integrity form npm records: sha512-<base64>."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def sha256(data: bytes) -> str:
    """Hex SHA-256, as the manifest records files."""
    return hashlib.sha256(data).hexdigest()


def fetch(package: str, version: str) -> bytes:
    """The package's tarball from the npm registry (through npm itself)."""
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--pack-destination", folder, "--silent"],
            check=True,
            capture_output=True,
        )
        (tarball,) = Path(folder).glob("*.tgz")
        return tarball.read_bytes()


def vendor(package: str) -> None:
    """Fetch, verify and write one package's files and its manifest."""
    version, integrity = locked(package)
    tarball = fetch(package, version)
    if integrity_of(tarball) != integrity:
        raise VendorError(
            f"{package}@{version}: the tarball does not match the lockfile's integrity"
        )
    folder, files = VENDOR[package]
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {"package": package, "version": version, "integrity": integrity, "files": {}}
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        for member, name in files.items():
            data = archive.extractfile(member).read()
            (folder / name).write_bytes(data)
            manifest["files"][name] = sha256(data)
    (folder / "VENDORED.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"vendored {package}@{version} into {folder.relative_to(ROOT)}")


def check(package: str) -> None:
    """The vendored files are the ones the manifest names, for the version the lockfile pins."""
    folder, _ = VENDOR[package]
    manifest = json.loads((folder / "VENDORED.json").read_text())
    version, integrity = locked(package)
    if (manifest["version"], manifest["integrity"]) != (version, integrity):
        raise VendorError(f"{package}: vendored {manifest['version']}, lockfile pins {version}")
    for name, digest in manifest["files"].items():
        if sha256((folder / name).read_bytes()) != digest:
            raise VendorError(f"{package}: {name} was changed after vendoring")


def main(argv: list[str] | None = None) -> int:
    """Vendor every package, or with --check verify what is vendored."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, do not fetch")
    args = parser.parse_args(argv)
    try:
        for package in VENDOR:
            (check if args.check else vendor)(package)
    except (VendorError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
