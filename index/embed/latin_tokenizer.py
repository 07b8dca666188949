"""A large Unigram tokenizer (multilingual-e5-small's 250,000 XLM-R pieces) loaded in a third of the time.

`tokenizers` takes ~0.6 s to load the full vocabulary, most of a cold `pitwall ask`. Pitwall reads German and
English: a text whose normalized characters are all Latin letters, digits and common punctuation (each one a
piece of its own) can only be split into pieces made of those characters, so a Unigram model of just those
pieces (~110,000) finds the same best split, with the same scores, and no unknown pieces. That subset is
written once beside the model cache and loads in ~0.18 s; its ids are mapped back to the full vocabulary's. A
text with any other character (Greek, CJK, emoji, a combining accent) goes to the full tokenizer, loaded on
first need; from then on the full one serves every text. Other kinds of tokenizer are loaded as they are.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECIPE = 1  # bump when the subset changes: subsets of another recipe are written again
# Basic Latin, Latin-1 and Latin Extended-A, general punctuation, currency signs; "▁" is SentencePiece's space
_RANGES = ((0x20, 0x7E), (0xA0, 0x17F), (0x2010, 0x205E), (0x20A0, 0x20BF), (0x2581, 0x2581))
LATIN = frozenset(chr(c) for low, high in _RANGES for c in range(low, high + 1))


@dataclass(frozen=True)
class Encoded:
    """What the embedder reads of an encoding, with ids of the full vocabulary."""

    ids: list[int]
    offsets: list[tuple[int, int]]
    special_tokens_mask: list[int]


class LatinFirstTokenizer:
    """`encode` and `encode_batch` of the tokenizer in `tokenizer_json` (no padding, no truncation)."""

    def __init__(self, tokenizer_json: Path, cache_dir: Path) -> None:
        self._path = tokenizer_json
        self._lock = threading.Lock()
        self._full: Any = None
        self._subset: Any = None
        subset = _subset_file(tokenizer_json, cache_dir)
        if subset is None:
            self._full = _load(tokenizer_json)
        else:
            self._subset = _load(subset[0])
            self._id_map = subset[1]
            self._allowed = frozenset(subset[2])

    def encode(self, text: str, add_special_tokens: bool = True) -> Any:
        return self.encode_batch([text], add_special_tokens)[0]

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = True) -> list[Any]:
        texts = list(texts)
        subset = self._subset  # one read: another thread may let it go meanwhile
        if subset is not None:
            normalize = subset.normalizer.normalize_str
            if all(set(normalize(text)) <= self._allowed for text in texts):
                ids = self._id_map
                return [
                    Encoded([ids[i] for i in e.ids], e.offsets, e.special_tokens_mask)
                    for e in subset.encode_batch(texts, add_special_tokens=add_special_tokens)
                ]
        return self.full().encode_batch(texts, add_special_tokens=add_special_tokens)

    def full(self) -> Any:
        """The whole tokenizer, loaded now if it was not; the subset is let go then."""
        with self._lock:
            if self._full is None:
                self._full = _load(self._path)
                self._subset = None
            return self._full


def _load(path: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def _subset_file(tokenizer_json: Path, cache_dir: Path) -> tuple[Path, list[int], list[str]] | None:
    """The cached subset of a Unigram tokenizer (written on first use), its ids in the full vocabulary and
    the characters it covers; None for a tokenizer of another kind."""
    stat = tokenizer_json.stat()
    stamp = f"{RECIPE}:{tokenizer_json.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    base = cache_dir / f"latin-{hashlib.sha256(stamp.encode()).hexdigest()[:16]}"
    subset, meta = base.with_suffix(".json"), base.with_suffix(".ids.json")
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if info.get("kind") != "unigram":
            return None
        if subset.is_file():
            return subset, info["ids"], info["chars"]
    except (OSError, ValueError, KeyError):
        pass
    info, text = _make_subset(tokenizer_json)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if text is not None:
        _write_atomically(subset, text)
    _write_atomically(meta, json.dumps(info))
    return (subset, info["ids"], info["chars"]) if text is not None else None


def _make_subset(tokenizer_json: Path) -> tuple[dict[str, Any], str | None]:
    from tokenizers import Tokenizer

    data = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    model = data.get("model") or {}
    if model.get("type") != "Unigram" or model.get("byte_fallback"):
        return {"kind": "other"}, None
    vocab = model["vocab"]
    added = {token["id"]: token["content"] for token in data.get("added_tokens") or []}
    # only characters that are pieces of their own: a text of them never needs the unknown piece
    singles = {piece for piece, _ in vocab if len(piece) == 1}
    chars = sorted(LATIN & singles)
    allowed = set(chars)
    if (data.get("pre_tokenizer") or {}).get("type") == "Metaspace" and "\u2581" in allowed:
        chars.append(" ")  # the pre-tokenizer makes a space "▁" before the model sees it
    kept = [i for i, (piece, _) in enumerate(vocab) if i in added or set(piece) <= allowed]
    unk = model.get("unk_id")
    data["model"] = {
        **model,
        "vocab": [vocab[i] for i in kept],
        "unk_id": kept.index(unk) if unk is not None else None,
    }
    text = json.dumps(data, ensure_ascii=False)
    subset = Tokenizer.from_str(text)
    ids = kept + [0] * max(0, subset.get_vocab_size(with_added_tokens=True) - len(kept))
    for full_id, content in added.items():
        ids[subset.token_to_id(content)] = full_id
    return {"kind": "unigram", "ids": ids, "chars": chars}, text


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
