import datetime as dt
import json
import os
from pathlib import Path

import pytest

from index.documents import Article, LoadError
from index.ingest import loading
from index.ingest.loading import CorpusError, LoadResult, load_corpus

BODY = (
    "Famin sagt: „Es gibt keinen wirklichen Plan“ – und das bleibt so.   \n"  # trailing spaces kept
    "---\n"  # a rule inside the body is text, not front matter
    "\n"
    '  Eingerückte Zeile mit "geraden" Anführungszeichen.\n'
    "Letzte Zeile."
)


def write(root: Path, relpath: str, content: str | bytes) -> Path:
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_bytes(content.encode())
    return path


def only_article(result: LoadResult) -> Article:
    assert result.errors == ()
    assert len(result.articles) == 1
    return result.articles[0]


def only_error(result: LoadResult) -> LoadError:
    assert result.articles == ()
    assert len(result.errors) == 1
    return result.errors[0]


def jsonl(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


# --- Markdown ---------------------------------------------------------------------------------------


def test_markdown_front_matter_fields_and_verbatim_body(tmp_path: Path) -> None:
    write(
        tmp_path,
        "2024/alpine-imsa.md",
        "---\n"
        "title: Alpine und die IMSA\n"
        "url: https://www.motorsport-total.com/alpine-imsa\n"
        "published: 2024-10-01\n"
        "source: Motorsport-Total.com\n"
        "language: de-DE\n"
        "author: Heiko Stritzke\n"
        "tags: [wec, imsa]\n"  # unknown keys are ignored
        "---\n"
        f"\n\n{BODY}\n\n\n",
    )
    article = only_article(load_corpus(tmp_path))
    assert article == Article(
        id="2024/alpine-imsa",
        title="Alpine und die IMSA",
        text=BODY,
        source="Motorsport-Total.com",
        url="https://www.motorsport-total.com/alpine-imsa",
        published=dt.date(2024, 10, 1),
        language="de",
        author="Heiko Stritzke",
        path="2024/alpine-imsa.md",
    )


def test_markdown_scalars_stay_text_as_written(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nid: 0012\ntitle: yes\npublished: 2024-10-01T09:30:00+02:00\n---\nText.")
    article = only_article(load_corpus(tmp_path))
    assert article.id == "0012"  # not the octal number 10
    assert article.title == "yes"  # not True
    assert article.published == dt.date(2024, 10, 1)  # a datetime is reduced to its date


def test_markdown_datetime_with_z_and_author_list(tmp_path: Path) -> None:
    write(
        tmp_path, "a.markdown", "---\ntitle: T\npublished: 2024-10-01T23:30:00Z\nauthor: [A, B]\n---\nText."
    )
    article = only_article(load_corpus(tmp_path))
    assert article.published == dt.date(2024, 10, 1)
    assert article.author == "A, B"


def test_markdown_without_front_matter(tmp_path: Path) -> None:
    write(tmp_path, "plain.md", f"\n# Alpine plant die IMSA\n\n{BODY}\n")
    article = only_article(load_corpus(tmp_path))
    assert article.title == "Alpine plant die IMSA"
    assert article.text == BODY
    assert article.id == "plain"


def test_markdown_setext_title(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "Alpine plant die IMSA\n=====\n\nDer Text.")
    article = only_article(load_corpus(tmp_path))
    assert (article.title, article.text) == ("Alpine plant die IMSA", "Der Text.")


def test_markdown_title_from_heading_when_front_matter_has_none(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\nurl: https://x/a\n---\n# Überschrift\n\nDer Text.")
    article = only_article(load_corpus(tmp_path))
    assert (article.title, article.text, article.url) == ("Überschrift", "Der Text.", "https://x/a")


def test_bom_and_crlf_are_normalized(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.md",
        "\ufeff---\r\ntitle: T\r\n---\r\nZeile eins  \r\nZeile zwei\rZeile drei\r\n".encode(),
    )
    article = only_article(load_corpus(tmp_path))
    assert article.title == "T"
    assert article.text == "Zeile eins  \nZeile zwei\nZeile drei"


# --- plain text -------------------------------------------------------------------------------------


def test_text_title_line_then_body(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", f"\n\nAlpine: kein konkretes Projekt\n\n{BODY}\n")
    article = only_article(load_corpus(tmp_path))
    assert article.title == "Alpine: kein konkretes Projekt"
    assert article.text == BODY
    assert (article.id, article.path, article.published, article.source) == ("a", "a.txt", None, "")


def test_text_single_paragraph_is_all_text(tmp_path: Path) -> None:
    text = "Alpine bleibt in der WEC. Famin sagt, die IMSA sei nur eine Idee."
    write(tmp_path, "a.txt", text + "\n")
    article = only_article(load_corpus(tmp_path))
    assert article.text == text
    assert article.title == "Alpine bleibt in der WEC"


def test_text_long_first_paragraph_is_not_a_title(tmp_path: Path) -> None:
    # Like the seed article: no headline, the first line is a long paragraph that must stay quotable.
    first = "Derzeit ist Alpine mit dem A424 LMDh ausschließlich in der Langstrecken-WM (WEC) unterwegs " * 3
    text = f"{first.strip()}\n\nZweiter Absatz."
    write(tmp_path, "seed.txt", text)
    article = only_article(load_corpus(tmp_path))
    assert article.text == text
    assert article.title.endswith("…") and len(article.title) <= 81
    assert text.startswith(article.title.removesuffix("…"))


def test_text_first_line_ending_in_full_stop_is_a_sentence(tmp_path: Path) -> None:
    write(tmp_path, "a.txt", "Alpine bleibt in der WEC.\n\nZweiter Absatz.")
    article = only_article(load_corpus(tmp_path))
    assert article.text == "Alpine bleibt in der WEC.\n\nZweiter Absatz."


# --- HTML -------------------------------------------------------------------------------------------

PAGE = """<!doctype html>
<html lang="de-DE"><head>
<title>Alpine | Motorsport-Total.com</title>
<meta property="og:title" content="Alpine und die IMSA">
<meta property="og:site_name" content="Motorsport-Total.com">
<meta property="og:url" content="https://example.com/og">
<link rel="canonical" href="https://example.com/alpine-imsa">
<meta property="article:published_time" content="2024-10-01T09:30:00+02:00">
<meta name="author" content="Heiko Stritzke">
<style>p { color: red }</style>
</head><body>
<header>Kopf</header><nav><ul><li>Formel 1</li></ul></nav>
<article>
  <h1>Alpine</h1>
  <p>Famin sagt:   „Es gibt keinen
     wirklichen Plan“ – <b>vorerst</b>!</p>
  <div class="ad-slot"><p>Jetzt kaufen</p></div>
  <h2>Technik</h2>
  <ul><li>WEC</li><li><p>IMSA</p></li></ul>
  <blockquote><p>Es ist nur eine Idee.</p></blockquote>
  <figure><img src="x.jpg"><figcaption>Foto: Alpine</figcaption></figure>
  <script>track();</script>
</article>
<aside><p>Mehr News</p></aside><footer><p>Impressum</p></footer>
</body></html>
"""


def test_html_title_text_and_metadata(tmp_path: Path) -> None:
    write(tmp_path, "news/alpine.html", PAGE)
    article = only_article(load_corpus(tmp_path))
    assert article == Article(
        id="news/alpine",
        title="Alpine und die IMSA",
        text="Famin sagt: „Es gibt keinen wirklichen Plan“ – vorerst!\n\nTechnik\n\nWEC\n\nIMSA\n\n"
        "Es ist nur eine Idee.",
        source="Motorsport-Total.com",
        url="https://example.com/alpine-imsa",
        published=dt.date(2024, 10, 1),
        language="de",
        author="Heiko Stritzke",
        path="news/alpine.html",
    )


def test_html_fallbacks(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.htm",
        "<html><head><title>Nur Titel</title><meta property='og:url' content='https://x/og'></head>"
        "<body><main><h1>Die Überschrift</h1><p>Who runs the team? The driver said it.</p>"
        "<time datetime='2024-05'>Mai</time><time datetime='2024-06-02'>2. Juni</time></main></body></html>",
    )
    article = only_article(load_corpus(tmp_path))
    assert article.title == "Die Überschrift"  # <h1> before <title>
    assert article.url == "https://x/og"
    assert article.published == dt.date(2024, 6, 2)  # the first <time> that holds a full date
    assert article.language == "en"  # no lang attribute: detected
    assert article.text == "Who runs the team? The driver said it."


def test_html_title_tag_and_bare_body_text(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.html",
        "<html lang='english'><title>Titel</title><body><div>Erster</div><div>Zweiter</div>",
    )
    article = only_article(load_corpus(tmp_path))
    assert (article.title, article.text, article.language) == ("Titel", "Erster Zweiter", "de")


# --- JSON Lines -------------------------------------------------------------------------------------


def test_jsonl_articles_ids_and_paths(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dump.jsonl",
        jsonl(
            {"id": 7, "title": "Mit Id", "text": BODY, "published": "2024-10-01", "language": "EN"},
            "",
            {"title": "Mit URL", "text": "Der Text.", "url": "https://x/u", "source": "MST"},
            "   ",
            {"text": "Ohne Titel und ohne Id. Zweiter Satz.", "author": None},
        ),
    )
    result = load_corpus(tmp_path)
    assert result.errors == ()
    first, second, third = result.articles
    assert (first.id, first.path, first.text, first.language) == ("7", "dump.jsonl:1", BODY, "en")
    assert first.published == dt.date(2024, 10, 1)
    assert (second.id, second.path, second.source) == ("https://x/u", "dump.jsonl:3", "MST")
    assert (third.id, third.path, third.title) == ("dump.jsonl:5", "dump.jsonl:5", "Ohne Titel und ohne Id")


def test_jsonl_text_is_normalized_like_files(tmp_path: Path) -> None:
    write(tmp_path, "d.jsonl", "\ufeff" + jsonl({"title": "T", "text": "\n a\r\nb  \rc \n"}))
    assert only_article(load_corpus(tmp_path)).text == "a\nb  \nc"


def test_jsonl_bad_lines_are_errors_and_the_rest_loads(tmp_path: Path) -> None:
    write(
        tmp_path,
        "dump.jsonl",
        jsonl(
            {"title": "Gut", "text": "Eins."},
            '{"title": "kaputt", "text": ',
            '["kein", "Objekt"]',
            {"title": "Ohne Text"},
            {"title": ["Liste"], "text": "x"},
            {"title": "Datum", "text": "x", "published": "01.10.2024"},
            {"title": "Gut", "text": "Zwei."},
        ),
    )
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["dump.jsonl:1", "dump.jsonl:7"]
    assert [(e.path, e.line) for e in result.errors] == [("dump.jsonl", n) for n in (2, 3, 4, 5, 6)]
    messages = [e.error for e in result.errors]
    assert messages[0].startswith("not valid JSON")
    assert "expected a JSON object" in messages[1] and "a list" in messages[1]
    assert "missing body" in messages[2] and "'text'" in messages[2]
    assert "'title' must be a text, not a list" in messages[3]
    assert "'published' is not an ISO date: '01.10.2024'" in messages[4] and "YYYY-MM-DD" in messages[4]


def test_jsonl_line_that_is_not_utf8(tmp_path: Path) -> None:
    good = jsonl({"title": "Gut", "text": "Eins."}).encode()
    write(tmp_path, "d.jsonl", good + '{"title": "Stra\xdfe", "text": "x"}\n'.encode("latin-1") + good)
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["d.jsonl:1", "d.jsonl:3"]
    assert [(e.path, e.line) for e in result.errors] == [("d.jsonl", 2)]
    assert result.errors[0].error.startswith("not UTF-8: byte 0xDF on line 2")


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relpath", "content", "line", "expected"),
    [
        ("a.md", "---\ntitle: Stra\xdfe\n---\nText.".encode("latin-1"), 2, "not UTF-8: byte 0xDF on line 2"),
        ("a.txt", "Titel\n\nText mit \xe4".encode("cp1252"), 3, "save the file as UTF-8"),
        ("a.md", b"", None, "empty file"),
        ("a.txt", b" \n\t\r\n ", None, "empty file"),
        ("a.jsonl", b"\n\n", None, "empty file"),
        ("a.jsonl", b"\xef\xbb\xbf", None, "empty file"),  # a BOM alone
        ("a.html", b"<html>\x00\x00</html>", None, "binary file (contains NUL bytes)"),
        ("a.md", "Titel\n\nText".encode("utf-16"), None, "binary file"),
        ("a.md", b"---\ntitle: T\nurl: [unclosed\n---\nText.", 4, "front matter is not valid YAML"),
        ("a.md", b"---\ntitle: Famin: nur eine Idee\n---\nText.", 2, "quote values that contain ': '"),
        (
            "a.md",
            b"---\n- title\n- url\n---\nText.",
            None,
            "must be 'key: value' lines (a YAML mapping), not a list",
        ),
        ("a.md", b"---\ntitle: T\n\nText ohne Ende.", 1, "front matter is not closed"),
        ("a.md", b"---\ntitle: T\n---\n\n  \n", None, "missing body: no article text after the front matter"),
        ("a.md", b"# Nur ein Titel\n", None, "missing body"),
        ("a.md", b"#\nText.", None, "missing title"),
        ("a.md", b"---\nurl: https://x\n---\nText.", None, "missing title: add 'title: ...'"),
        ("a.md", b"---\ntitle: [A, B]\n---\nText.", None, "'title' must be a text, not a list"),
        ("a.md", b"---\ntitle: T\nurl: {a: b}\n---\nText.", None, "'url' must be a text, not a mapping"),
        (
            "a.md",
            b"---\ntitle: T\npublished: 1. Oktober 2024\n---\nText.",
            None,
            "'published' is not an ISO date",
        ),
        ("a.md", b"---\ntitle: T\npublished: 2024-13-01\n---\nText.", None, "'published' is not an ISO date"),
        ("a.md", b"---\ntitle: T\nlanguage: Deutsch\n---\nText.", None, "'language' must be a language code"),
        (
            "a.html",
            b"<html><body><p>Nur Text</p></body></html>",
            None,
            "missing title: the page has no og:title",
        ),
        ("a.html", b"<html><title>T</title><body><nav><p>Menu</p></nav></body></html>", None, "missing body"),
        ("a.jsonl", b'{"title": "T", "text": "x", "id": true}\n', 1, "'id' must be a text, not true/false"),
    ],
)
def test_file_errors(tmp_path: Path, relpath: str, content: bytes, line: int | None, expected: str) -> None:
    write(tmp_path, relpath, content)
    error = only_error(load_corpus(tmp_path))
    assert (error.path, error.line) == (relpath, line)
    assert expected in error.error


def test_too_large_file_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "big.md", "# Titel\n\n" + "x" * 2000)
    write(tmp_path, "small.md", "# Titel\n\nText.")

    def refuse(handle, limit):
        if os.fstat(handle.fileno()).st_size > limit:
            raise AssertionError("read although too large")
        return original(handle, limit)

    original = loading._read_at_most
    monkeypatch.setattr(loading, "_read_at_most", refuse)
    result = load_corpus(tmp_path, max_file_bytes=1000)
    assert [a.path for a in result.articles] == ["small.md"]
    assert [(e.path, e.line) for e in result.errors] == [("big.md", None)]
    assert "2,009 bytes" in result.errors[0].error and "limit is 1,000 bytes" in result.errors[0].error


def test_one_bad_file_does_not_stop_the_rest(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "# A\n\nText A.")
    write(tmp_path, "b.md", b"\x00")
    write(tmp_path, "c.md", "# C\n\nText C.")
    result = load_corpus(tmp_path)
    assert [a.id for a in result.articles] == ["a", "c"]
    assert [e.path for e in result.errors] == ["b.md"]


def test_duplicate_id_rejects_the_later_file(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "---\ntitle: A\nid: alpine\n---\nText A.")
    write(
        tmp_path,
        "b/c.jsonl",
        jsonl({"title": "X", "text": "x"}, {"id": "alpine", "title": "B", "text": "B."}),
    )
    write(tmp_path, "b/c.md", "# Id b/c\n\nText.")  # JSONL lines have ids of their own: no clash
    write(tmp_path, "b/c.txt", "Titel\n\nSame id b/c as b/c.md.")
    result = load_corpus(tmp_path)
    assert [(a.id, a.path) for a in result.articles] == [
        ("alpine", "a.md"),
        ("b/c.jsonl:1", "b/c.jsonl:1"),
        ("b/c", "b/c.md"),
    ]
    assert [(e.path, e.line) for e in result.errors] == [("b/c.jsonl", 2), ("b/c.txt", None)]
    assert "duplicate id 'alpine': a.md already has it" in result.errors[0].error
    assert "duplicate id 'b/c': b/c.md already has it" in result.errors[1].error


def test_duplicate_url_in_jsonl_names_the_first_line(tmp_path: Path) -> None:
    record = {"title": "T", "text": "x", "url": "https://x/1"}
    write(tmp_path, "d.jsonl", jsonl(record, record))
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["d.jsonl:1"]
    assert [(e.path, e.line) for e in result.errors] == [("d.jsonl", 2)]
    assert "d.jsonl:1 already has it" in result.errors[0].error


# --- the folder -------------------------------------------------------------------------------------


def test_recursive_sorted_posix_paths_and_skips(tmp_path: Path) -> None:
    write(tmp_path, "b.md", "# B\n\nText.")
    write(tmp_path, "a/z.txt", "Z\n\nText.")
    write(tmp_path, "a/deep/er/x.HTML", "<title>X</title><p>Text.</p>")
    write(tmp_path, "a.md", "# A\n\nText.")
    write(tmp_path, ".hidden.md", b"\x00")  # would be an error if it were read
    write(tmp_path, ".git/config.md", b"\x00")
    write(tmp_path, "a/.drafts/draft.md", b"\x00")
    write(tmp_path, "notes.pdf", b"\x00")
    write(tmp_path, "README", b"\x00")
    write(tmp_path, "data.json", b"\x00")
    result = load_corpus(tmp_path)
    assert result.errors == ()
    assert [a.path for a in result.articles] == ["a.md", "a/deep/er/x.HTML", "a/z.txt", "b.md"]
    assert [a.id for a in result.articles] == ["a", "a/deep/er/x", "a/z", "b"]


def test_errors_are_sorted_by_path_then_line(tmp_path: Path) -> None:
    write(tmp_path, "z.md", b"")
    write(tmp_path, "m.jsonl", "[]\n{}\n[]\n")
    write(tmp_path, "a/b.txt", b"")
    result = load_corpus(tmp_path)
    assert [(e.path, e.line) for e in result.errors] == [
        ("a/b.txt", None),
        ("m.jsonl", 1),
        ("m.jsonl", 2),
        ("m.jsonl", 3),
        ("z.md", None),
    ]
    assert [e.where() for e in result.errors][1] == "m.jsonl:1"


def test_ids_and_results_are_stable_across_runs(tmp_path: Path) -> None:
    write(tmp_path, "2024/alpine-imsa.md", "# Alpine\n\nText.")
    write(tmp_path, "d.jsonl", jsonl({"title": "T", "text": "x", "url": "https://x/1"}))
    first = load_corpus(tmp_path)
    assert load_corpus(tmp_path) == first
    write(tmp_path, "2024/alpine-imsa.md", "# Alpine, neu\n\nGeänderter Text.")  # edited: same id
    write(tmp_path, "d.jsonl", "\n" + jsonl({"title": "T", "text": "x", "url": "https://x/1"}))  # moved line
    second = load_corpus(tmp_path)
    assert (
        [a.id for a in second.articles]
        == [a.id for a in first.articles]
        == ["2024/alpine-imsa", "https://x/1"]
    )
    assert second.articles[0].content_hash() != first.articles[0].content_hash()


def test_empty_folder_is_an_empty_result(tmp_path: Path) -> None:
    assert load_corpus(tmp_path) == LoadResult(articles=(), errors=())


def test_result_is_frozen(tmp_path: Path) -> None:
    result = load_corpus(tmp_path)
    with pytest.raises(AttributeError):
        result.articles = ()  # type: ignore[misc]


def test_missing_root_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nope")


def test_file_as_root_raises(tmp_path: Path) -> None:
    file = write(tmp_path, "a.md", "# A\n\nText.")
    with pytest.raises(CorpusError, match="is not a folder"):
        load_corpus(file)


def test_an_unreadable_folder_is_reported_and_the_rest_loads(tmp_path: Path, monkeypatch) -> None:
    write(tmp_path, "locked/a.md", "# A\n\nText.")
    write(tmp_path, "open/b.md", "# B\n\nText.")
    original = os.scandir

    def scandir(path: object) -> object:
        if Path(str(path)).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return original(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    result = load_corpus(tmp_path)
    assert [a.path for a in result.articles] == ["open/b.md"]
    assert [(e.path, e.error) for e in result.errors] == [
        ("locked/", "cannot read folder: Permission denied")
    ]
    monkeypatch.setattr(os, "scandir", lambda path: scandir(tmp_path / "locked"))
    with pytest.raises(CorpusError, match="cannot read corpus folder .*: Permission denied"):
        load_corpus(tmp_path)


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "real/a.md", "# A\n\nText.")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    assert [a.path for a in load_corpus(tmp_path).articles] == ["real/a.md"]


def test_yaml_aliases_that_write_out_to_megabytes_reject_the_file(tmp_path: Path) -> None:
    """20,000 aliases to a 10 KB string: a 90 KB file that once became a 200 MB author field."""
    aliases = ", ".join(["*a"] * 20_000)
    write(tmp_path, "bomb.md", f'---\ntitle: T\nx: &a "{"x" * 10_000}"\nauthor: [{aliases}]\n---\nText.\n')
    write(tmp_path, "good.md", "---\ntitle: &t Gut\nsource: *t\n---\nText.\n")  # an alias itself is fine
    result = load_corpus(tmp_path)
    assert [(a.path, a.source) for a in result.articles] == [("good.md", "Gut")]
    assert [(e.path, e.error) for e in result.errors] == [
        (
            "bomb.md",
            "front matter is over 100,000 characters with its YAML aliases (*name) written out: "
            "write each value once, without aliases",
        )
    ]


def test_a_metadata_field_longer_than_the_limit_rejects_the_entry(tmp_path: Path) -> None:
    write(tmp_path, "dump.jsonl", json.dumps({"title": "T" * 10_001, "text": "Text."}) + "\n")
    (error,) = load_corpus(tmp_path).errors
    assert (error.path, error.line) == ("dump.jsonl", 1)
    assert error.error.startswith("'title' is 10,001 characters long, the limit is 10,000")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("zw.md", "\u200b\u200c\u200d\n\u2060\ufeff\u200b"),
        ("zw.txt", "\u200b \u200b\n\n\u200d"),
        ("zw.html", "<title>Titel</title><p>\u200b</p>"),
        ("zw-body.md", "---\ntitle: Titel\n---\n\u200b\u00ad\n"),
        ("zw.jsonl", '{"title": "T", "text": "\\u200b\\u200d"}\n'),
    ],
)
def test_a_file_of_only_invisible_characters_is_rejected_as_empty(tmp_path: Path, name, content) -> None:
    write(tmp_path, name, content)
    result = load_corpus(tmp_path)
    assert result.articles == ()
    (error,) = result.errors
    assert error.path == name
    assert "empty file" in error.error or "missing body" in error.error


def test_a_corpus_of_many_other_files_is_said_once_and_its_listing_shows_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(loading, "MANY_OTHER_FILES", 3)
    monkeypatch.setattr(loading, "LISTING_PROGRESS_EVERY", 4)
    write(tmp_path, "a.md", "# A\n\nText.")
    for number in range(8):
        write(tmp_path, f"photos/{number}.jpg", b"jpeg")

    assert [a.path for a in load_corpus(tmp_path).articles] == ["a.md"]

    messages = [record.getMessage() for record in caplog.records]
    assert (
        messages.count(
            f"the corpus folder {tmp_path} holds more than 3 files that are not articles (.md, .txt, .html, "
            ".jsonl): is it the folder meant?"
        )
        == 1
    )
    assert [m for m in messages if m.startswith("listing")] == [
        f"listing the corpus folder {tmp_path}: 4 entries so far, 1 article files",
        f"listing the corpus folder {tmp_path}: 8 entries so far, 1 article files",
    ]


def test_the_root_of_the_file_system_as_corpus_is_said(monkeypatch, caplog) -> None:
    monkeypatch.setattr(loading, "_list_files", lambda root: ([], [], []))  # not all of it, in a test
    load_corpus(Path("/"))
    assert "the corpus folder / is the root of the file system" in caplog.text
