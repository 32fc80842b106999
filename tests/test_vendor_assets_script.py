"""scripts/vendor_assets.py: tar members are unpacked only inside the destination folder."""

import importlib.util
from pathlib import Path

import pytest
from test_downloads import _tar_gz as _tgz

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "vendor_assets.py"


def _load():
    spec = importlib.util.spec_from_file_location("vendor_assets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unpack_maps_members_into_the_destination(tmp_path):
    va = _load()
    data = _tgz({"package/dist/a.js": b"a", "package/dist/sub/b.js": b"b", "package/other.txt": b"x"})
    va.unpack(data, {"package/dist/": "lib/", "package/other.txt": "lib/LICENSE"}, tmp_path)
    assert (tmp_path / "lib" / "a.js").read_bytes() == b"a" and (tmp_path / "lib" / "sub" / "b.js").read_bytes() == b"b"
    assert (tmp_path / "lib" / "LICENSE").read_bytes() == b"x"


@pytest.mark.parametrize("name", ["package/dist/../../../escaped.js", "package/dist/sub/../../../../escaped.js"])
def test_a_member_that_climbs_out_of_the_destination_is_refused(tmp_path, name):
    va = _load()
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(SystemExit, match="outside"):
        va.unpack(_tgz({name: b"evil"}), {"package/dist/": "lib/"}, dest)
    assert not list(tmp_path.rglob("escaped.js"))
