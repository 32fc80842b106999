"""Fetch the site's JavaScript (MathJax, mermaid) from the npm registry into _vendor/.

The built site then serves them itself: formulas and diagrams render offline,
in classrooms without internet and where public CDNs are blocked.

    python scripts/vendor_assets.py            # called by `make setup`
    NPM_REGISTRY=https://registry.npmmirror.com python scripts/vendor_assets.py   # mainland-China mirror

Each tarball is pinned by version and by the registry's sha512 integrity, checked
before anything is unpacked; files are written to a temporary folder and moved
into place only when complete.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "_vendor"
REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")

# name, version, npm integrity (sha512), {path in the tarball: path under _vendor/}
PACKAGES = [
    ("mathjax", "3.2.2",
     "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
     {"package/es5/tex-mml-chtml.js": "mathjax/tex-mml-chtml.js",   # the combined component the site loads
      "package/es5/output/chtml/": "mathjax/output/chtml/",        # its web fonts
      "package/es5/input/": "mathjax/input/",                      # TeX extensions loaded on demand
      "package/es5/ui/": "mathjax/ui/", "package/es5/a11y/": "mathjax/a11y/", "package/es5/sre/": "mathjax/sre/",
      "package/LICENSE": "mathjax/LICENSE"}),
    ("mermaid", "11.12.1",
     "sha512-UlIZrRariB11TY1RtTgUWp65tphtBv4CSq7vyS2ZZ2TgoMjs2nloq+wFqxiwcxlhHUvs7DPGgMjs2aeQxz5h9g==",
     {"package/dist/mermaid.min.js": "mermaid/mermaid.min.js", "package/LICENSE": "mermaid/LICENSE"}),
]


def _stamp(name: str, version: str) -> Path:
    return VENDOR / f".{name}-{version}"


def fetch(name: str, version: str, integrity: str) -> bytes:
    url = f"{REGISTRY}/{name}/-/{name}-{version}.tgz"
    print(f"vendor_assets: downloading {url}", flush=True)
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    algo, expected = integrity.split("-", 1)
    actual = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if actual != expected:
        raise SystemExit(f"vendor_assets: {url} failed its {algo} check (corrupt or tampered download); "
                         f"nothing was written. Run `python scripts/vendor_assets.py` again.")
    return data


def unpack(data: bytes, mapping: dict[str, str], dest: Path) -> None:
    """Write the regular files of the tarball that ``mapping`` names under ``dest``.

    Every target path is checked to lie inside ``dest`` before anything is written
    (a member named ``package/x/../../../etc/y`` is refused), so the pinned checksum
    is not the only guard against a path traversal.
    """
    root = dest.resolve()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = []
        for member in tar.getmembers():
            if not member.isfile():
                continue
            for src, dst in mapping.items():
                if member.name == src or (src.endswith("/") and member.name.startswith(src)):
                    target = dest / (dst + member.name[len(src):] if src.endswith("/") else dst)
                    if not target.resolve().is_relative_to(root):
                        raise SystemExit(f"vendor_assets: tar member {member.name!r} would be written to {target}, "
                                         f"outside {dest}; nothing was written")
                    members.append((member, target))
        for member, target in members:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())


def main() -> int:
    VENDOR.mkdir(exist_ok=True)
    for name, version, integrity, mapping in PACKAGES:
        if _stamp(name, version).exists():
            continue
        data = fetch(name, version, integrity)
        with tempfile.TemporaryDirectory(dir=VENDOR) as tmp:
            unpack(data, mapping, Path(tmp))
            final = VENDOR / name
            shutil.rmtree(final, ignore_errors=True)
            os.replace(Path(tmp) / name, final)
        for old in VENDOR.glob(f".{name}-*"):
            old.unlink()
        _stamp(name, version).touch()
        print(f"vendor_assets: {name} {version} -> {final.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
