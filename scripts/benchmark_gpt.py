"""Train helpers' character-level GPT on a UTF-8 text file and report val loss, wall time and tokens/s.

    python scripts/benchmark_gpt.py corpus.txt                  # CPU config (nanoGPT's shakespeare_char CPU run)
    python scripts/benchmark_gpt.py corpus.txt --gpu-config     # nanoGPT's shakespeare_char GPU config
    python scripts/benchmark_gpt.py corpus.txt --max-iters 50   # quick smoke run

A bigger corpus than the People's Daily text, ~25.8 million characters of Tang and Song poems
(85 MB download, once; simplified characters, the Song shi last so that they also validate):

    python -m helpers.corpora chinese-poetry --simplified --collections songci tang song --out data/poetry.txt
    python scripts/benchmark_gpt.py data/poetry.txt --gpu-config

The first 90 % of the characters train, the last 10 % validate. The vocabulary
is every character of the file. On CUDA the run uses bf16 autocast and
``torch.compile`` (``--no-compile`` to switch the latter off).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.env import get_device, seed_everything  # noqa: E402
from helpers.lm import BigramLM, UnigramLM, fixed_windows, train_lm  # noqa: E402
from helpers.models.gpt import GPT, GPTConfig  # noqa: E402
from helpers.text import CharTokenizer  # noqa: E402

CPU = dict(n_layer=4, n_head=4, n_embd=128, block_size=64, batch_size=12, max_iters=2000,
           lr=1e-3, dropout=0.0, warmup=100)
GPU = dict(n_layer=6, n_head=6, n_embd=384, block_size=256, batch_size=64, max_iters=5000,
           lr=1e-3, dropout=0.2, warmup=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", type=Path, help="UTF-8 text file")
    parser.add_argument("--gpu-config", action="store_true", help="6 layers x 384, block 256, batch 64, 5000 iters")
    parser.add_argument("--max-iters", type=int, help="override the number of iterations (smoke runs)")
    parser.add_argument("--device", help="cpu, cuda, mps (default: best available)")
    parser.add_argument("--no-compile", action="store_true", help="do not torch.compile on CUDA")
    parser.add_argument("--seed", type=int, default=1337)
    args = parser.parse_args(argv)

    cfg = dict(GPU if args.gpu_config else CPU)
    if args.max_iters is not None:
        cfg["max_iters"] = args.max_iters
        cfg["warmup"] = min(cfg["warmup"], args.max_iters)
    seed_everything(args.seed)
    device = get_device(args.device)
    cuda = device.type == "cuda"

    text = args.text.read_text(encoding="utf-8")
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text), dtype=torch.long)
    n = int(0.9 * len(data))
    config = GPTConfig(vocab_size=tok.vocab_size, block_size=cfg["block_size"], n_layer=cfg["n_layer"],
                       n_head=cfg["n_head"], n_embd=cfg["n_embd"], dropout=cfg["dropout"])
    model = GPT(config).to(device)
    print(f"{args.text.name}: {len(text):,} characters, vocab {tok.vocab_size} | "
          f"{model.num_params():,} parameters | {config} | device {device}")
    # Baselines on exactly the validation windows the GPT is scored on (add-k, k picked among a few values).
    val_x, val_y = fixed_windows(data[n:], cfg["block_size"], 200)
    uni = min(UnigramLM(tok.vocab_size, k).fit(data[:n]).log_probs()[val_y].neg().mean().item()
              for k in (0.01, 0.1, 1.0))
    bi = min(BigramLM(tok.vocab_size, k).fit(data[:n]).log_prob(val_x, val_y).neg().mean().item()
             for k in (0.001, 0.01, 0.1, 1.0))
    print(f"baselines on the validation windows: unigram {uni:.4f}, bigram {bi:.4f} nats/char")
    start = time.perf_counter()
    hist = train_lm(model, data[:n], data[n:], max_iters=cfg["max_iters"], batch_size=cfg["batch_size"],
                    lr=cfg["lr"], warmup=cfg["warmup"], eval_interval=max(1, cfg["max_iters"] // 10),
                    eval_windows=200, seed=args.seed, amp=cuda, compile=cuda and not args.no_compile)
    wall = time.perf_counter() - start
    print(f"RESULT config={'gpu' if args.gpu_config else 'cpu'} iters={cfg['max_iters']} "
          f"val_loss={hist['val_loss'][-1]:.4f} bigram={bi:.4f} unigram={uni:.4f} wall_s={wall:.1f} tokens_per_s={hist.tokens_per_second:,.0f} "
          f"device={device.type}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
