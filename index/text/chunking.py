"""Cut articles into chunks that follow paragraphs and sentences and fit the embedding model's budget.

Sizes are measured in the model's own word pieces (`Embedder.token_lengths`). Sentence counts are summed
to plan the chunks, then every planned chunk is counted once more as a whole; a chunk the real count
finds too long is split again, so no chunk is ever silently truncated by the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from index.documents import Article, Chunk
from index.text.sentences import split_paragraphs, split_sentences

TokenLengths = Callable[[Sequence[str]], list[int]]

OVERLAP_SENTENCES = (
    1  # sentences shared by neighbouring chunks: a fact told across a chunk border stays whole
)
# in one of them, at the cost of about one sentence per chunk embedded twice (PITWALL_CHUNK_OVERLAP_SENTENCES)

# Chunks aim at no more word pieces than this unless asked to (PITWALL_CHUNK_TARGET_TOKENS): all-MiniLM-L6-v2
# reads 254 at most, multilingual-e5-small 507; chunks of ~250 keep quotes chosen from the best passages
# focused, and embedding fast (attention grows with the square of a chunk's length).
TARGET_TOKENS = 256

_NON_SPACE = re.compile(r"\S+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ChunkingParams:
    """How articles are chunked; saved in the index manifest so a changed setting forces a rebuild."""

    max_tokens: int
    overlap_sentences: int = OVERLAP_SENTENCES
    target_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {self.max_tokens}")
        if self.overlap_sentences < 0:
            raise ValueError(f"overlap_sentences must be 0 or more, got {self.overlap_sentences}")
        if self.target_tokens is not None and not 1 <= self.target_tokens <= self.max_tokens:
            raise ValueError(
                f"target_tokens (PITWALL_CHUNK_TARGET_TOKENS) must be between 1 and the model's limit of "
                f"{self.max_tokens} word pieces, got {self.target_tokens}: set it to {self.max_tokens} or "
                "less, or unset it to use the limit"
            )

    @property
    def target(self) -> int:
        return self.target_tokens if self.target_tokens is not None else min(self.max_tokens, TARGET_TOKENS)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> ChunkingParams:
        return cls(**data)


@dataclass(frozen=True)
class _Unit:
    """A sentence, or a piece of a sentence too long for one chunk."""

    start: int
    end: int
    tokens: int
    good_end: bool  # a chunk ending here ends at the end of a (non-heading) paragraph


def chunk_article(
    article: Article,
    token_lengths: TokenLengths,
    max_tokens: int,
    overlap_sentences: int = OVERLAP_SENTENCES,
    target_tokens: int | None = None,
) -> list[Chunk]:
    """The chunks of `article`: whole consecutive sentences, at most `max_tokens` word pieces each.

    Chunks aim at `target_tokens` (default `max_tokens`, at most TARGET_TOKENS), prefer to end where a
    paragraph ends, and consecutive chunks share `overlap_sentences` sentences. A sentence longer than
    `max_tokens` is split at word boundaries, and a single longer word at character boundaries. Every
    non-whitespace character of the article is in at least one chunk;
    `chunk.text == article.text[chunk.start:chunk.end]`.
    """
    params = ChunkingParams(max_tokens, overlap_sentences, target_tokens)
    text = article.text
    units = _units(text, token_lengths, max_tokens)
    if not units:
        return []
    planned = [(units[first].start, units[last].end) for first, last in _pack(units, params)]
    spans = _enforce_budget(text, planned, token_lengths, max_tokens)
    return [
        Chunk(article.id, position, start, end, text[start:end])
        for position, (start, end) in enumerate(_drop_contained(spans))
    ]


def _units(text: str, token_lengths: TokenLengths, max_tokens: int) -> list[_Unit]:
    """The sentences of `text` with their token counts; sentences over the budget come in pieces."""
    sentences: list[tuple[int, int, bool]] = []
    for paragraph in split_paragraphs(text):
        for start, end in paragraph.sentences:
            good_end = end == paragraph.end and not paragraph.heading
            sentences.append((start, end, good_end))
    counts = token_lengths([text[start:end] for start, end, _ in sentences])
    oversized = [i for i, count in enumerate(counts) if count > max_tokens]
    words = {i: [m.span() for m in _NON_SPACE.finditer(text, *sentences[i][:2])] for i in oversized}
    word_counts = iter(
        token_lengths([text[s:e] for i in oversized for s, e in words[i]]) if oversized else []
    )

    units = []
    for i, (start, end, good_end) in enumerate(sentences):
        if counts[i] <= max_tokens:
            units.append(_Unit(start, end, counts[i], good_end))
            continue
        pieces = _pack_words([(s, e, next(word_counts)) for s, e in words[i]], max_tokens)
        units.extend(_Unit(s, e, n, False) for s, e, n in pieces[:-1])
        units.append(_Unit(*pieces[-1], good_end))
    return units


def _pack_words(words: list[tuple[int, int, int]], max_tokens: int) -> list[tuple[int, int, int]]:
    """Greedy runs of words (start, end, tokens) within the budget; a word over it is cut into characters."""
    pieces: list[tuple[int, int, int]] = []
    run_start, run_end, run_tokens = -1, -1, 0
    for start, end, tokens in [piece for word in words for piece in _cut_word(word, max_tokens)]:
        if run_start >= 0 and run_tokens + tokens > max_tokens:
            pieces.append((run_start, run_end, run_tokens))
            run_start, run_tokens = -1, 0
        if run_start < 0:
            run_start = start
        run_end, run_tokens = end, run_tokens + tokens
    pieces.append((run_start, run_end, run_tokens))
    return pieces


def _cut_word(word: tuple[int, int, int], max_tokens: int) -> list[tuple[int, int, int]]:
    """Equal character slices of a word too long for the budget, each estimated at its share of tokens."""
    start, end, tokens = word
    if tokens <= max_tokens:
        return [word]
    parts = min(end - start, math.ceil(tokens / max_tokens))
    bounds = [start + (end - start) * k // parts for k in range(parts + 1)]
    return [(a, b, math.ceil(tokens / parts)) for a, b in zip(bounds, bounds[1:], strict=False)]


def _pack(units: list[_Unit], params: ChunkingParams) -> list[tuple[int, int]]:
    """(first, last) unit indexes of each chunk, in order; every unit is in some chunk."""
    prefix = [0]
    for unit in units:
        prefix.append(prefix[-1] + unit.tokens)

    def size(first: int, last: int) -> int:
        return prefix[last + 1] - prefix[first]

    target, n = params.target, len(units)
    chunks: list[tuple[int, int]] = []
    first, previous_last = 0, -1
    while True:
        last = first
        while last + 1 < n and size(first, last + 1) <= target:
            last += 1
        if last + 1 < n and not units[last].good_end:
            # end at the last paragraph end instead, if that keeps the chunk at least half full
            for k in range(last - 1, max(first, previous_last + 1) - 1, -1):
                if size(first, k) < target / 2:
                    break
                if units[k].good_end:
                    last = k
                    break
        chunks.append((first, last))
        if last == n - 1:
            return chunks
        # share the last sentences, but always reach past this chunk's end: progress, no contained chunk
        nxt = max(last + 1 - params.overlap_sentences, first + 1)
        while nxt <= last and size(nxt, last + 1) > target:
            nxt += 1
        first, previous_last = nxt, last


def _enforce_budget(
    text: str, spans: list[tuple[int, int]], token_lengths: TokenLengths, max_tokens: int
) -> list[tuple[int, int]]:
    """Count every span as a whole; split any span over the budget until all fit (one count per round)."""
    fitting = []
    pending = spans
    while pending:
        counts = token_lengths([text[start:end] for start, end in pending])
        too_long = []
        for (start, end), count in zip(pending, counts, strict=True):
            if count <= max_tokens:
                fitting.append((start, end))
            elif end - start == 1:
                raise ValueError(
                    f"max_tokens={max_tokens} is too small: "
                    f"the character {text[start]!r} alone is {count} tokens"
                )
            else:
                too_long.extend(_halve(text, start, end))
        pending = too_long
    return sorted(fitting)


def _halve(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Two spans covering text[start:end]: cut at the sentence end, else the space, nearest the middle."""
    middle = (start + end) / 2
    sentences = [(start + s, start + e) for s, e in split_sentences(text[start:end])]
    if len(sentences) > 1:
        k = min(range(1, len(sentences)), key=lambda i: abs(sentences[i][0] - middle))
        return [(start, sentences[k - 1][1]), (sentences[k][0], end)]
    gaps = [m.span() for m in _SPACE.finditer(text, start, end)]
    if gaps:
        gap_start, gap_end = min(gaps, key=lambda gap: abs(gap[0] - middle))
        return [(start, gap_start), (gap_end, end)]
    cut = start + (end - start) // 2
    return [(start, cut), (cut, end)]


def _drop_contained(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Spans in text order without any that lies inside an earlier one."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(spans, key=lambda span: (span[0], -span[1])):
        if not kept or end > kept[-1][1]:
            kept.append((start, end))
    return kept
