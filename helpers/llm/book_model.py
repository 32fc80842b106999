"""The book model: the small Chinese Llama that ``scripts/pretrain_book_model.py`` trained, shipped with ``helpers``.

    model, tok = load_book_model()            # offline; checksums verified first
    ids = torch.tensor([tok.encode("人民日报")])
    model.generate(ids, 40, temperature=0.8)
    log = read_training_log()                 # the run's events: start, corpus, tokens, train, eval, done

The folder (:data:`BOOK_MODEL_DIR`) is a Hugging Face model folder, so the same files load
with :func:`helpers.models.llama.load_pretrained` and with ``transformers``
(``AutoModelForCausalLM.from_pretrained(BOOK_MODEL_DIR)``, ``model_type`` "llama"):

- ``config.json``         the architecture in Hugging Face's Llama format, plus ``"book"``: the recipe and seed;
- ``model.safetensors``   the weights under Hugging Face names (the tied output layer stored once);
- ``tokenizer.json``      the tokenizer in the ``tokenizers`` library's format;
- ``bpe.json``            the same tokenizer as :class:`helpers.llm.bpe.ByteBPE` reads it;
- ``train_log.txt``, ``log.jsonl``  what the training run printed, and its events as JSON lines;
- ``SHA256SUMS``          the SHA-256 of each file above, checked before anything is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from .._validate import check_type
from ..atomic import write_text_atomic
from ..models.llama import Llama, LlamaConfig, _HF_RENAMES, load_pretrained
from .bpe import ByteBPE

BOOK_MODEL_DIR = Path(__file__).resolve().parent / "artifacts" / "book-model"
# The instruction-tuned book model (scripts/sft_book_model.py), same layout, weights in float16.
CHAT_MODEL_DIR = Path(__file__).resolve().parent / "artifacts" / "chat-model"
FILES = ("config.json", "model.safetensors", "tokenizer.json", "bpe.json", "train_log.txt", "log.jsonl")


class ChecksumError(ValueError):
    """A shipped file does not match its recorded SHA-256."""


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def hf_config(config: LlamaConfig, **extra) -> dict:
    """``config`` as a Hugging Face ``config.json`` dict (``model_type`` "llama"); ``extra`` keys are added."""
    check_type("config", config, LlamaConfig, "helpers.models.LlamaConfig")
    if config.qk_norm or config.attention_bias:
        raise ValueError("only a plain Llama (qk_norm=False, attention_bias=False) is written as model_type 'llama'")
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": config.vocab_size,
            "hidden_size": config.n_embd, "num_hidden_layers": config.n_layer,
            "num_attention_heads": config.n_head, "num_key_value_heads": config.n_kv_head,
            "head_dim": config.head_dim, "intermediate_size": config.intermediate_size, "hidden_act": "silu",
            "max_position_embeddings": config.max_seq_len, "rms_norm_eps": config.rms_norm_eps,
            "rope_theta": config.rope_theta, "tie_word_embeddings": config.tie_word_embeddings,
            "attention_bias": False, "mlp_bias": False, "torch_dtype": "float32", **extra}


def book_key_to_hf(name: str) -> str:
    """``layers.3.attn.q_proj.weight -> model.layers.3.self_attn.q_proj.weight`` (inverse of ``hf_key_to_book``)."""
    import re

    for hf_pattern, book_repl in _HF_RENAMES:
        book_pattern = re.escape(book_repl).replace(r"\\1", r"(\d+)")
        hf_repl = hf_pattern.replace(r"(\d+)", r"\1").replace("\\.", ".")
        if re.match(book_pattern, name):
            return re.sub(book_pattern, hf_repl, name, count=1)
    raise KeyError(f"unexpected parameter {name!r}: not part of helpers.models.Llama")


def save_book_model(model: Llama, tok: ByteBPE, dest, recipe: dict | None = None, logs=(),
                    dtype: torch.dtype = torch.float32) -> Path:
    """Write ``model`` and ``tok`` to the folder ``dest`` in the layout above, ``SHA256SUMS`` last.

    ``logs``: paths of ``train_log.txt`` and ``log.jsonl`` to copy. ``dtype``: how the weights are
    stored, ``torch.float32`` or ``torch.float16`` (half the size; :func:`load_book_model` reads
    them back into float32). The folder is assembled in a temporary sibling and renamed into
    place, so ``dest`` is complete or untouched.
    """
    from safetensors.torch import save_file

    if not isinstance(model, Llama):
        raise TypeError(f"model must be a helpers.models.Llama, got {type(model).__name__}")
    if not isinstance(tok, ByteBPE):
        raise TypeError(f"tok must be a helpers.llm.bpe.ByteBPE, got {type(tok).__name__}")
    if tok.vocab_size != model.config.vocab_size:
        raise ValueError(f"tokenizer has {tok.vocab_size} ids but the model's vocab_size is "
                         f"{model.config.vocab_size}; save the tokenizer the model was trained with")
    if dtype not in (torch.float32, torch.float16):
        raise ValueError(f"dtype={dtype}: store the weights as torch.float32 or torch.float16")
    logs = [Path(p) for p in logs]
    for p in logs:
        if p.name not in FILES or not p.is_file():
            raise ValueError(f"logs: {p} is not an existing train_log.txt or log.jsonl")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
    try:
        state = {}
        for name, p in model.state_dict().items():
            if name == "lm_head.weight" and model.config.tie_word_embeddings:
                continue
            state[book_key_to_hf(name)] = p.detach().to("cpu", dtype).contiguous()
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        extra = {"bos_token_id": None, "eos_token_id": tok.special_tokens["<|endoftext|>"],
                 "book": {"recipe": recipe or {}, "config": asdict(model.config)}}
        config = {**hf_config(model.config, **extra), "torch_dtype": str(dtype).removeprefix("torch.")}
        write_text_atomic(tmp / "config.json", json.dumps(config, indent=1) + "\n")
        tok.to_tokenizers().save(str(tmp / "tokenizer.json"))
        tok.save(tmp / "bpe.json")
        for p in logs:
            shutil.copyfile(p, tmp / p.name)
        sums = "".join(f"{sha256_of(tmp / f)}  {f}\n" for f in FILES if (tmp / f).exists())
        write_text_atomic(tmp / "SHA256SUMS", sums)
        for f in tmp.iterdir():
            f.chmod(0o644)                      # mkdtemp and the atomic writes create private files
        tmp.chmod(0o755)
        old = dest.with_name(f".{dest.name}.old")
        if old.exists():
            shutil.rmtree(old)
        if dest.exists():
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old.exists():
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return dest


def verify_book_model(path=None) -> dict[str, str]:
    """Check every file listed in ``SHA256SUMS``; returns ``{file: sha256}`` or raises :class:`ChecksumError`."""
    path = Path(path) if path is not None else BOOK_MODEL_DIR
    sums_file = path / "SHA256SUMS"
    if not sums_file.is_file():
        raise FileNotFoundError(f"{sums_file} is missing: {path} is not a book-model folder written by "
                                "save_book_model (reinstall helpers, or run scripts/pretrain_book_model.py)")
    expected = {}
    for line in sums_file.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        expected[name] = digest
    for name in ("config.json", "model.safetensors", "bpe.json"):
        if name not in expected:
            raise ChecksumError(f"{sums_file} does not list {name}")
    for name in expected:
        if not (path / name).is_file():
            raise FileNotFoundError(f"{path / name} (listed in SHA256SUMS) is missing; reinstall helpers or fetch "
                                    "the file again (git lfs is not used: a plain clone has it)")
    for name, digest in expected.items():
        f = path / name
        actual = sha256_of(f)
        if actual != digest:
            raise ChecksumError(f"{f}: SHA-256 {actual[:16]}… but SHA256SUMS records {digest[:16]}…; the file is "
                                "damaged or was changed: restore it with `git checkout -- <file>` or reinstall")
    return expected


def load_book_model(path=None, verify: bool = True, dtype: torch.dtype = torch.float32) -> tuple[Llama, ByteBPE]:
    """``(model, tokenizer)``: the shipped book model in eval mode on the CPU, and its :class:`ByteBPE`."""
    path = Path(path) if path is not None else BOOK_MODEL_DIR
    if verify:
        verify_book_model(path)
    model, _ = load_pretrained(path, dtype=dtype, tokenizer=False)
    tok = ByteBPE.load(path / "bpe.json")
    if tok.vocab_size != model.config.vocab_size:
        raise ValueError(f"{path}: bpe.json has {tok.vocab_size} ids, config.json vocab_size "
                         f"{model.config.vocab_size}; the folder mixes two runs")
    return model, tok


def load_chat_model(verify: bool = True) -> tuple[Llama, ByteBPE]:
    """``(model, tokenizer)``: the shipped chat model (the book model after SFT), in float32, eval mode."""
    check_type("verify", verify, bool, "bool")
    return load_book_model(CHAT_MODEL_DIR, verify=verify)


def read_training_log(path=None) -> list[dict]:
    """The events of ``log.jsonl``: dicts with an ``"event"`` key (start, corpus, tokens, model, train, eval, done)."""
    path = Path(path) if path is not None else BOOK_MODEL_DIR
    return [json.loads(line) for line in (path / "log.jsonl").read_text(encoding="utf-8").splitlines() if line]


def book_recipe(path=None) -> dict:
    """The recipe (``"book"`` entry of ``config.json``) the shipped model was trained with."""
    path = Path(path) if path is not None else BOOK_MODEL_DIR
    return json.loads((path / "config.json").read_text(encoding="utf-8"))["book"]
