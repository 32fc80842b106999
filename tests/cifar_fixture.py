"""A tiny CIFAR-10 archive in the original format, for tests that must not download anything.

``write_cifar_archive(folder)`` writes ``folder/cifar-10/cifar-10-python.tar.gz``
whose images are learnable: every image of class ``c`` is filled with colour
``PALETTE[c]`` plus noise, so a small network separates the classes within a
few steps. ``use_fixture(monkeypatch, archive, url)`` points
``helpers.downloads.FILES`` at it (its own MD5; ``url``: where a local server
serves it).
"""

import hashlib

import numpy as np

from helpers import downloads
from helpers.downloads import Remote
from http_fixture import LocalServer, bypass_proxies  # noqa: F401  (LocalServer re-exported for the tests)
from test_downloads import _cifar_batch, _tar_gz

# ten well-separated RGB colours, one per class
PALETTE = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                    [145, 30, 180], [70, 240, 240], [240, 50, 230], [128, 128, 0], [0, 0, 128]], dtype=np.int64)


def colour_images(n: int, seed: int, noise: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """``images: (n, 32, 32, 3) uint8`` coloured by class, ``labels: (n,)``; every class appears."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = PALETTE[labels][:, None, None, :] + rng.integers(-noise, noise + 1, (n, 32, 32, 3))
    return np.clip(images, 0, 255).astype(np.uint8), labels


def archive_bytes(per_batch: int = 8, n_test: int = 20, seed: int = 0) -> tuple[bytes, dict]:
    """The ``.tar.gz`` bytes (5 training batches of ``per_batch`` images, one test batch) and the arrays."""
    images, labels = colour_images(5 * per_batch, seed)
    train = [(images[i * per_batch:(i + 1) * per_batch], labels[i * per_batch:(i + 1) * per_batch])
             for i in range(5)]
    test = colour_images(n_test, seed + 100)
    members = {f"cifar-10-batches-py/data_batch_{i + 1}": _cifar_batch(*b) for i, b in enumerate(train)}
    members["cifar-10-batches-py/test_batch"] = _cifar_batch(*test)
    arrays = {"train": (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train])),
              "test": test}
    return _tar_gz(members), arrays


def write_cifar_archive(root, **kwargs) -> tuple[bytes, dict]:
    """Write the fixture archive where :func:`helpers.load_cifar10` looks for it under ``root``."""
    data, arrays = archive_bytes(**kwargs)
    folder = root / "cifar-10"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cifar-10-python.tar.gz").write_bytes(data)
    return data, arrays


def use_fixture(monkeypatch, archive: bytes, url: str = "http://127.0.0.1:9/cifar-10/") -> None:
    """Make ``helpers.downloads`` accept (and download from ``url``) the fixture archive."""
    md5 = hashlib.md5(archive).hexdigest()
    table = dict(downloads.FILES)
    table["cifar-10"] = {"archive": Remote("cifar-10-python.tar.gz", md5, (url,))}
    monkeypatch.setattr(downloads, "FILES", table)
    monkeypatch.delenv(downloads.MIRROR_ENV_VAR, raising=False)
    bypass_proxies(monkeypatch)
