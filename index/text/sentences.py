"""Paragraphs and sentences of German and English news text, as character spans.

Rules, in the order they apply:
- A blank line ends a paragraph. So does a single newline after a heading-like line (short, no
  punctuation that says the text goes on), after a Markdown heading, or before a list item.
- Inside a paragraph a sentence ends at . ! ? or … (optionally followed by closing quotes or brackets)
  when whitespace follows and then an upper-case letter, a digit or an opening quote or bracket.
- A single "." does not end a sentence after abbreviations (z. B., z.B., bzw., Dr., Jan., ...), single
  letters (initials such as "J. R. R. Tolkien") and short ordinal numbers ("am 3. Oktober", "der 2. Platz"),
  unless the next word is one that typically opens a sentence ("... Runde 12. Der Brite").
- Inside a short quotation whose sentence goes on after the closing mark (`„Gut. Wir kommen“, sagt er.`)
  nothing ends: the quote and its attribution stay one sentence.
"""

from __future__ import annotations

import re
from typing import NamedTuple


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Lower-case, without the final ".". Single letters and dotted forms (z.B, u.a, e.g) are handled by rule.
# Left out on purpose, as they also end sentences as ordinary words: "no", "mag", "max", "co", "etc", "usw".
ABBREVIATIONS = _word_set(
    """
    abb abs abt al allg bd bspw bzgl bzw ca chr corp dipl dr dt ehem engl evtl exkl fa fr franz geb gebr
    gegr ggf ggü hl hr hrsg inkl ing ital jh jhd jr kap kath lt ltd mdb min mio mr mrd mrs ms
    mt nr jan feb mär apr jun jul aug sep sept okt oct nov dez dec orig prof rd resp sen sog sr
    st std str tel usf vgl vol vs zit zzgl
    """
)

# Words that usually open a sentence: after "Runde 12." they mean the number ended the sentence.
SENTENCE_STARTERS = _word_set(
    """
    der die das dem den des ein eine einer er sie es wir ihr ich man dies diese dieser dieses dann doch
    aber und oder denn so auch nun jetzt damit danach zudem dabei daher deshalb trotzdem allerdings
    als wenn wie was wo warum in im am an auf aus bei mit nach seit von vor zum zur für über unter
    the a an he she it they we i this that these those then but and or so in on at after
    """
)

_TERMINAL = r"(?:[.!?…]+)"
_CLOSERS = '"“”»«)]’'
_OPENERS = '„"«‚(“»‘['
_BOUNDARY = re.compile(rf"(?P<punct>{_TERMINAL})(?P<close>[{re.escape(_CLOSERS)}]*)\s+(?=(?P<next>\S))")
_QUOTE = re.compile(r"„[^„“”\"\n]*[“”\"]|\"[^\"\n]*\"|“[^“”\n]*”|»[^»«\n]*«|«[^«»\n]*»")
_MAX_QUOTE_CHARS = 500  # longer quotations are split into their sentences regardless
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_LIST_ITEM = re.compile(r"(?:[-*•–]|\d{1,3}[.)])\s")
_DOTTED = re.compile(r"(?:[^\W\d_]{1,2}\.)+[^\W\d_]{1,2}")
_ORDINAL = re.compile(r"\d{1,3}")
_WORD = re.compile(r"\w+")
_NOT_SPACE = re.compile(r"\S")
_HEADING_MAX_CHARS = 100
# A line at least this long and this close to the widest of its block is hard-wrapped prose, not a heading.
_PROSE_LINE_CHARS = 60
_PROSE_LINE_SHARE = 0.75
_CONTINUES = ",;-–—(„‚/&+"


class Paragraph(NamedTuple):
    start: int
    end: int
    heading: bool  # a heading-like line of its own
    sentences: list[tuple[int, int]]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text`, in order, without surrounding whitespace."""
    return [span for paragraph in split_paragraphs(text) for span in paragraph.sentences]


def split_paragraphs(text: str) -> list[Paragraph]:
    """The paragraphs of `text` with their sentences; together they cover every non-whitespace character."""
    paragraphs = []
    for start, end, heading in _paragraph_spans(text):
        paragraphs.append(Paragraph(start, end, heading, _sentences_in(text, start, end)))
    return paragraphs


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraph_spans(text: str) -> list[tuple[int, int, bool]]:
    spans: list[tuple[int, int, bool]] = []
    block_start = 0
    for match in [*_BLANK_LINE.finditer(text), None]:
        block_end = match.start() if match else len(text)
        spans.extend(_split_block(text, *_strip(text, block_start, block_end)))
        block_start = match.end() if match else len(text)
    return spans


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """A block without blank lines: one paragraph, except where a line is a heading or a list item follows."""
    if start >= end:
        return []
    lines = []
    line_start = start
    while line_start < end:
        newline = text.find("\n", line_start, end)
        line_end = newline if newline != -1 else end
        stripped = _strip(text, line_start, line_end)
        if stripped[0] < stripped[1]:
            lines.append(stripped)
        line_start = line_end + 1
    widest = max(e - s for s, e in lines)
    paragraphs = []
    first = 0  # index of the first line of the current paragraph
    for i, ((s, e), (next_s, _)) in enumerate(zip(lines, lines[1:], strict=False)):
        if _ends_with_heading(text[s:e], text[next_s], widest) or _LIST_ITEM.match(text, next_s):
            paragraphs.append((lines[first][0], e, first == i and _looks_like_heading(text[s:e])))
            first = i + 1
    last = len(lines) - 1
    paragraphs.append(
        (lines[first][0], lines[-1][1], first == last and _looks_like_heading(text[slice(*lines[-1])]))
    )
    return paragraphs


def _looks_like_heading(line: str) -> bool:
    """A short line that does not end like a sentence or like text that goes on."""
    if line.startswith("#"):
        return True
    if _LIST_ITEM.match(line):
        return False
    bare = line.rstrip(_CLOSERS) or line
    return len(line) <= _HEADING_MAX_CHARS and bare[-1] not in _CONTINUES and bare[-1] not in ".!?…:"


def _ends_with_heading(line: str, next_char: str, widest: int) -> bool:
    if line.startswith("#"):
        return True
    if not _looks_like_heading(line):
        return False
    # a line of hard-wrapped prose is about as wide as the widest line of its block
    if len(line) >= _PROSE_LINE_CHARS and len(line) >= _PROSE_LINE_SHARE * widest:
        return False
    return next_char.isupper() or next_char.isdigit() or next_char in _OPENERS


def _sentences_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    paragraph = text[start:end]
    quotes = _Quotes(paragraph)
    sentences = []
    sentence_start = 0
    for match in _BOUNDARY.finditer(paragraph):
        if _ends_sentence(paragraph, match, quotes):
            sentences.append((start + sentence_start, start + match.end("close")))
            sentence_start = match.end()
    sentences.append((start + sentence_start, end))
    return sentences


def _ends_sentence(paragraph: str, match: re.Match[str], quotes: _Quotes) -> bool:
    following = match.group("next")
    if not (following.isupper() or following.isdigit() or following in _OPENERS):
        return False
    if match.group("punct") == "." and not match.group("close") and _is_abbreviation(paragraph, match):
        return False
    return not quotes.continued_at(match.end("close"))


def _is_abbreviation(paragraph: str, match: re.Match[str]) -> bool:
    dot = match.start("punct")
    token = _token_before(paragraph, dot)
    if not token:
        return False
    if len(token) == 1 and token.isalpha():  # initials, "z. B.", "u. a."
        return True
    if token.lower() in ABBREVIATIONS or _DOTTED.fullmatch(token):
        return True
    if _ORDINAL.fullmatch(token):  # "am 3. Oktober", "der 2. Platz", but "in Runde 12. Der Brite ..."
        next_word = _WORD.match(paragraph, match.end())
        return not (next_word and next_word.group().lower() in SENTENCE_STARTERS)
    return False


def _token_before(paragraph: str, dot: int) -> str:
    """The word before `dot` (from the last space, tab or line break on), opening quotes and brackets
    dropped; "" when it holds anything but letters, digits and dots, as no abbreviation does.

    Reads back only over letters, digits, dots and openers, which no sentence boundary holds, so all
    boundaries of a paragraph together read it once (searching back to the last space read it once each)."""
    begin = dot
    while begin and (paragraph[begin - 1].isalnum() or paragraph[begin - 1] == "."):
        begin -= 1
    word = begin
    while begin and paragraph[begin - 1] in _OPENERS:
        begin -= 1
    if begin and paragraph[begin - 1] not in " \t\n\r":
        return ""  # something else stands before it: not a token any rule below accepts
    return paragraph[word:dot]


class _Quotes:
    """The short quotations of a paragraph after which their sentence goes on (`“, sagt er`), asked about
    positions in increasing order: each quotation is judged once, so a paragraph is read a bounded number
    of times however many quotations and sentence ends it has."""

    def __init__(self, paragraph: str) -> None:
        self._spans = [m.span() for m in _QUOTE.finditer(paragraph)]
        self._continued = [_goes_on_after(paragraph, s, e) for s, e in self._spans]
        self._next = 0  # quotations before this one end before every position still to be asked about

    def continued_at(self, position: int) -> bool:
        """Whether `position` lies inside a short quotation after which its sentence goes on."""
        while self._next < len(self._spans) and self._spans[self._next][1] <= position:
            self._next += 1
        if self._next == len(self._spans):
            return False
        quote_start, _ = self._spans[self._next]
        return quote_start < position and self._continued[self._next]


def _goes_on_after(paragraph: str, quote_start: int, quote_end: int) -> bool:
    if quote_end - quote_start > _MAX_QUOTE_CHARS:
        return False
    rest = _NOT_SPACE.search(paragraph, quote_end)
    return rest is not None and (rest.group() in ",;:–—-" or rest.group().islower())


QUOTE_UNIT_CHARS = 320  # quotes are "about 300" characters at most: room for a lede of two sentences


def quote_units(text: str, max_chars: int = QUOTE_UNIT_CHARS) -> list[tuple[int, int]]:
    """The spans quotes are built from: the sentences of `text`, a sentence longer than `max_chars` in
    pieces, each cut after a comma, semicolon or colon in its second half, else at a word boundary (all of a
    long sentence can be quoted, its end too). The index embeds each unit, so answers need not embed
    anything but the question."""
    units = []
    for start, end in split_sentences(text):
        while end - start > max_chars:
            cut = _piece_end(text, start, start + max_chars)
            units.append((start, cut))
            rest = _NOT_SPACE.search(text, cut, end)
            start = rest.start() if rest else end
        if start < end:
            units.append((start, end))
    return units


def _piece_end(text: str, start: int, limit: int) -> int:
    """Where a piece of the sentence starting at `start` ends, at most at `limit` and never at `start`."""
    clause = max(text.rfind(mark, start + (limit - start) // 2, limit) for mark in (", ", "; ", ": "))
    if clause > start:
        return clause + 1
    space = text.rfind(" ", start, limit)
    if space <= start:
        return limit
    while text[space - 1].isspace():  # stops at `start` at the latest: a sentence starts with no space
        space -= 1
    return space
