"""Benchmark the shipped book model on this machine (a measurement, not a test).

    python scripts/benchmark_book_model.py [--device cuda] [--steps 10] [--new-tokens 100]

Prints, and writes as JSON with ``--json PATH``:
- held-out People's Daily cross-entropy in nats per character (the number in the training log,
  recomputed here with the shipped weights);
- training throughput: tokens/s of full training steps (forward, backward, AdamW) of the book
  recipe's batch shape, after one warm-up step;
- generation throughput: new tokens/s for one sequence, with and without the KV cache.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import helpers  # noqa: E402,I001  (first: it sets the OpenMP wait policy before torch starts)
import torch  # noqa: E402
from helpers.llm.book_model import book_recipe, load_book_model, read_training_log  # noqa: E402
from helpers.llm.corpus import build_corpus  # noqa: E402
from helpers.llm.pretrain import encode_text, nats_per_char  # noqa: E402
from helpers.lm import configure_optimizer  # noqa: E402
from helpers.recipes import hardware_name  # noqa: E402


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=10, help="timed training steps")
    parser.add_argument("--new-tokens", type=int, default=100, help="tokens generated per timing")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.steps < 1 or not 1 <= args.new_tokens <= 120:
        parser.error("--steps must be >= 1 and --new-tokens between 1 and 120 (the context is 128 tokens)")
    device = torch.device(args.device)
    helpers.setup(seed=0, full=False)
    recipe = book_recipe()["recipe"]
    model, tok = load_book_model()
    model.to(device)
    result = {"device": str(device), "machine": hardware_name(device), "cores": os.cpu_count(),
              "gpu": torch.cuda.get_device_name(0) if device.type == "cuda" else None,
              "torch": torch.__version__, "threads": torch.get_num_threads(), "params": model.num_params()}

    corpus = build_corpus(("peoples_daily",))
    text = corpus.text("held_out", "peoples_daily")
    ids = encode_text(tok, text)
    t0 = time.time()
    result["heldout_nats_per_char"] = nats_per_char(model, ids, len(text), recipe["seq_len"], tok.encode("\n")[0])
    result["eval_tokens_per_s"] = len(ids) / (time.time() - t0)
    logged = [e for e in read_training_log() if e["event"] == "eval"][-1]["heldout_nats_per_char"]
    result["heldout_nats_per_char_logged"] = logged

    B, T = recipe["batch_size"], recipe["seq_len"]
    train_model, _ = load_book_model()
    train_model.to(device).train()
    opt = configure_optimizer(train_model, lr=1e-4)
    x = ids[: B * (T + 1)].view(B, T + 1).to(device)
    times = []
    for i in range(args.steps + 1):
        _sync(device)
        t0 = time.time()
        _, loss = train_model(x[:, :-1], x[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        if i:                                   # the first step warms up
            times.append(time.time() - t0)
    result["train_tokens_per_s"] = B * T * len(times) / sum(times)

    prompt = torch.tensor([tok.encode("新华社北京1月5日电")], device=device)
    for use_cache in (True, False):
        g = torch.Generator(device=device).manual_seed(0)
        model.generate(prompt, 5, temperature=1.0, generator=g, use_cache=use_cache)   # warm-up
        _sync(device)
        t0 = time.time()
        out = model.generate(prompt, args.new_tokens, temperature=1.0, generator=g, use_cache=use_cache)
        _sync(device)
        n = out.shape[1] - prompt.shape[1]
        result[f"generate_tokens_per_s_{'cache' if use_cache else 'no_cache'}"] = n / (time.time() - t0)

    print(f"book model ({result['params']:,} parameters) on {result['machine']}, {result['cores']} cores, "
          f"torch {result['torch']}")
    print(f"held-out People's Daily: {result['heldout_nats_per_char']:.4f} nats/char "
          f"(training log: {logged:.4f}); evaluation {result['eval_tokens_per_s']:,.0f} tokens/s")
    print(f"training: {result['train_tokens_per_s']:,.0f} tokens/s (batch {B} x {T}, forward + backward + AdamW)")
    print(f"generation, 1 sequence: {result['generate_tokens_per_s_cache']:,.0f} tokens/s with KV cache, "
          f"{result['generate_tokens_per_s_no_cache']:,.0f} without")
    if args.json:
        helpers.atomic.write_text_atomic(args.json, json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
