"""English words to German ones with the FreeDict English-German dictionary, read at run time.

The dictionary is the Debian package `dict-freedict-eng-deu`: a dictd index (`headword<TAB>offset<TAB>length`,
offsets in base64) and the entries in a dictzip file (gzip with a table of independently compressed chunks,
so one entry is read without unpacking 80 MB).
Nothing of the dictionary is copied into the repository or the index; without it, English questions are
matched by their names and numbers only, and Pitwall says so once.
"""

from __future__ import annotations

import logging
import mmap
import re
import struct
import threading
import zlib
from collections.abc import Callable
from functools import cache, lru_cache
from pathlib import Path

DICTIONARY_DIR = Path("/usr/share/dictd")
ENGLISH_GERMAN = "freedict-eng-deu"
MAX_SENSES = 24  # dictionary entries (senses) of a headword that are read; senses come in alphabetical order

log = logging.getLogger(__name__)
_BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_MARKUP = re.compile(r"<[^>]*>|\[[^\]]*\]|\([^)]*\)|\{[^}]*\}|/[^/]*/")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")


def _base64_number(text: str) -> int:
    number = 0
    for char in text:
        number = number * 64 + _BASE64[char]
    return number


class DictZip:
    """Random access to a dictzip file: the chunk holding an offset is inflated on its own."""

    def __init__(self, path: Path) -> None:
        self._path = path
        with open(path, "rb") as handle:
            header = handle.read(10)
            if header[:2] != b"\x1f\x8b" or not header[3] & 4:
                raise ValueError(f"{path} is not a dictzip file (no gzip extra field)")
            (extra_length,) = struct.unpack("<H", handle.read(2))
            extra = handle.read(extra_length)
            self._chunk_length, sizes = _random_access_table(extra, path)
            flags = header[3]
            for flag in (8, 16):  # file name, comment: zero-terminated
                if flags & flag:
                    while handle.read(1) not in (b"\0", b""):
                        pass
            if flags & 2:
                handle.read(2)
            start = handle.tell()
        self._offsets = [start]
        for size in sizes:
            self._offsets.append(self._offsets[-1] + size)
        self._lock = threading.Lock()
        self._handle = open(path, "rb")  # noqa: SIM115 - kept open for the process's lifetime

    def read(self, offset: int, length: int) -> bytes:
        first, last = offset // self._chunk_length, (offset + length - 1) // self._chunk_length
        parts = [self._chunk(number) for number in range(first, last + 1)]
        begin = offset - first * self._chunk_length
        return b"".join(parts)[begin : begin + length]

    @lru_cache(maxsize=256)  # noqa: B019 - one instance per process
    def _chunk(self, number: int) -> bytes:
        with self._lock:
            self._handle.seek(self._offsets[number])
            data = self._handle.read(self._offsets[number + 1] - self._offsets[number])
        return zlib.decompressobj(-15).decompress(data)


def _random_access_table(extra: bytes, path: Path) -> tuple[int, tuple[int, ...]]:
    position = 0
    while position + 4 <= len(extra):
        (length,) = struct.unpack("<H", extra[position + 2 : position + 4])
        field = extra[position + 4 : position + 4 + length]
        if extra[position : position + 2] == b"RA":
            _, chunk_length, count = struct.unpack("<HHH", field[:6])
            return chunk_length, struct.unpack(f"<{count}H", field[6 : 6 + 2 * count])
        position += 4 + length
    raise ValueError(f"{path} is not a dictzip file (no random-access table)")


class Dictionary:
    """Translations of single words: `translate("court")` -> ("Gericht", "Gerichtshof", "Hof", ...).

    The index file is searched in place (it is sorted by lower-cased letters, digits and spaces), so opening
    the dictionary costs a few milliseconds and no memory beyond the page cache."""

    def __init__(self, index_path: Path, dict_path: Path) -> None:
        with open(index_path, "rb") as handle:
            self._index = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._dict = DictZip(dict_path)
        self._cache: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()

    @classmethod
    def find(cls, folder: Path = DICTIONARY_DIR, name: str = ENGLISH_GERMAN) -> Dictionary | None:
        """The dictionary in `folder`, or None (logged once) when it is not installed."""
        index_path, dict_path = folder / f"{name}.index", folder / f"{name}.dict.dz"
        if not (index_path.is_file() and dict_path.is_file()):
            log.warning(
                "no %s dictionary in %s: English questions are matched against German articles by names "
                "and numbers only (install the Debian package dict-freedict-eng-deu; `make setup` does)",
                name,
                folder,
            )
            return None
        return cls(index_path, dict_path)

    def translate(self, word: str) -> tuple[str, ...]:
        """The German words of every sense of `word` (or of its base form), those of most senses first."""
        word = word.lower()
        with self._lock:
            if word not in self._cache:
                self._cache[word] = next(
                    (found for form in _base_forms(word) if (found := self._read(form))), ()
                )
            return self._cache[word]

    def _read(self, headword: str) -> tuple[str, ...]:
        counts: dict[str, int] = {}
        for offset, length in self._lookup(headword)[:MAX_SENSES]:
            entry = self._dict.read(offset, length).decode("utf-8", errors="replace")
            sense = dict.fromkeys(_WORD.findall(_MARKUP.sub(" ", _first_translation_line(entry))))
            for german in sense:
                counts[german] = counts.get(german, 0) + 1
        return tuple(sorted(counts, key=lambda german: -counts[german]))

    def _lookup(self, headword: str) -> list[tuple[int, int]]:
        """(offset, length) of every entry of `headword`, by binary search over the sorted index lines."""
        key = _sort_key(headword)
        low, high = 0, len(self._index)
        while low < high:  # low and high stay at line starts; lines before low sort before `key`
            start = self._index.rfind(b"\n", 0, (low + high) // 2) + 1
            start = max(start, low)
            line_end = self._line_end(start)
            if _sort_key(self._text(start, line_end).partition("\t")[0]) < key:
                low = line_end + 1
            else:
                high = start
        entries = []
        while low < len(self._index):
            line_end = self._line_end(low)
            found, _, rest = self._text(low, line_end).partition("\t")
            if _sort_key(found) != key:
                break
            if found.lower() == headword:
                offset, _, length = rest.partition("\t")
                entries.append((_base64_number(offset), _base64_number(length)))
            low = line_end + 1
        return entries

    def _line_end(self, start: int) -> int:
        end = self._index.find(b"\n", start)
        return end if end >= 0 else len(self._index)

    def _text(self, start: int, end: int) -> str:
        return self._index[start:end].decode("utf-8", errors="replace")


def _sort_key(headword: str) -> str:
    """The order of a dictd index: lower case, only letters, digits and spaces."""
    return "".join(char for char in headword.lower() if char.isalnum() or char == " ")


def _first_translation_line(entry: str) -> str:
    """An entry is the headword line, then the translations, then examples and notes."""
    lines = entry.splitlines()[1:]
    return next((line for line in lines if line.strip()), "")


def _base_forms(word: str) -> list[str]:
    """`word` and the forms an English inflection may come from: courts -> court, cities -> city, ..."""
    forms = [word]
    for suffix, replacement in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: -len(suffix)] + replacement)
    return forms


@cache
def english_to_german() -> Callable[[str], tuple[str, ...]] | None:
    """The system's English-German dictionary as a translate function, opened once per process; None (and
    one warning) without it."""
    dictionary = Dictionary.find()
    return dictionary.translate if dictionary is not None else None
