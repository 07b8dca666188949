"""Quote selection and the verbatim check (fake embedder: fast, deterministic)."""

import dataclasses
import datetime as dt
from urllib.parse import unquote

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering import answers, quotes
from bot.answering.answers import compose_answer
from bot.answering.quotes import (
    MAX_JOINED_CHARS,
    MAX_QUOTE_CHARS,
    Question,
    Quote,
    is_verbatim,
    select_quotes,
    text_fragment_link,
)
from index.build import build_index
from index.documents import Article
from index.search import Hit, Searcher
from index.store.generations import load_index
from index.text.chunking import chunk_article
from index.text.lexical import question_concepts
from index.text.sentences import quote_units
from tests.conftest import write_article
from tests.fakes import FakeEmbedder

FAKE = FakeEmbedder()
WORDS = st.sampled_from(
    [
        "Alpine",
        "IMSA",
        "Famin",
        "sagt",
        "„Plan“",
        '"Idee"',
        "z. B.",
        "Dr.",
        "2027.",
        "…",
        "WEC",
        "\n\n",
        "Ü",
        "—",
    ]
)
SENTENCES = st.lists(WORDS, min_size=1, max_size=30).map(" ".join).map(lambda s: s + st_end(s))


def st_end(text: str) -> str:
    return "" if text.endswith((".", "…")) else "."


def hits_for(article: Article, max_tokens: int) -> list[Hit]:
    chunks = chunk_article(article, FAKE.token_lengths, max_tokens)
    return [Hit(row, chunk, article, 1.0 / (row + 1), 0.5, 1.0) for row, chunk in enumerate(chunks)]


def select(question: str, hits: list[Hit], max_quotes: int = 3) -> list[Quote]:
    """select_quotes for a question, every word as rare as any other."""
    asked = Question.of(
        question, FAKE.embed_queries([question])[0], question_concepts(question), lambda _: 1.0
    )
    return select_quotes(asked, hits, units_of, lambda _: 1.0, max_quotes)


def units_of(hit: Hit) -> tuple[np.ndarray, np.ndarray]:
    """The quote units overlapping a passage, embedded by the fake model (as the index stores them)."""
    spans = [(s, e) for s, e in quote_units(hit.article.text) if s < hit.chunk.end and e > hit.chunk.start]
    vectors = FAKE.embed_passages([hit.article.text[s:e] for s, e in spans])
    return np.asarray(spans, dtype=np.int64).reshape(-1, 2), vectors


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.lists(st.one_of(SENTENCES, st.text(min_size=1, max_size=400)), min_size=1, max_size=12).map(
        " ".join
    ),
    question=st.text(max_size=60),
    max_tokens=st.integers(min_value=5, max_value=120),
)
def test_every_selected_quote_is_verbatim_short_and_distinct(body, question, max_tokens):
    article = Article(id="a", title="t", text=body)
    hits = hits_for(article, max_tokens)
    quotes = select(question, hits)

    assert len(quotes) <= 3
    for quote in quotes:
        assert is_verbatim(quote)
        assert article.text[quote.start : quote.end] == quote.text
        assert len(quote.text) <= MAX_JOINED_CHARS
    spans = sorted((q.start, q.end) for q in quotes)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))


def test_a_quote_that_differs_from_its_article_fails_the_check():
    article = Article(id="a", title="t", text="Famin sagt: „Es ist nur eine Idee.“")
    good = Quote(article, "„Es ist nur eine Idee.“", 12, 1.0)
    assert is_verbatim(good)
    assert not is_verbatim(dataclasses.replace(good, text='"Es ist nur eine Idee."'))  # other quote marks
    assert not is_verbatim(dataclasses.replace(good, start=11))
    assert not is_verbatim(dataclasses.replace(good, text="   ", start=0))


def test_the_sentence_matching_the_question_is_quoted():
    text = "Der Himmel ist blau. Sauerteig braucht Zeit und Wärme über Nacht. Die Katze schläft."
    article = Article(id="a", title="t", text=text)
    question = "Wie lange braucht Sauerteig Zeit und Wärme?"
    quotes = select(question, hits_for(article, 200))
    assert quotes[0].text.startswith("Sauerteig braucht Zeit")


def test_the_same_sentence_in_two_articles_is_shown_once_from_the_newest():
    sentence = "Alpine plant keinen Einstieg in die IMSA und bleibt in der WEC."
    old = Article(id="old", title="t", text=sentence, published=dt.date(2023, 1, 1))
    new = Article(id="new", title="t", text=sentence, published=dt.date(2024, 1, 1))
    hits = hits_for(old, 100) + hits_for(new, 100)
    quotes = select("Alpine IMSA", hits)
    assert [q.article.id for q in quotes] == ["new"]


def test_compose_answer_never_shows_a_quote_that_fails_the_check(tmp_path, monkeypatch):
    texts = {
        "a": "Alpine plant keinen Einstieg in die IMSA. Famin nennt es eine Idee.",
        "b": "Für Alpine bleibt die IMSA vorerst tabu, sagt Teamchef Famin.",
    }
    for name, text in texts.items():
        write_article(tmp_path / "c", name, name, text)
    build_index(tmp_path / "c", tmp_path / "i", model_id="fake", get_embedder=lambda: FAKE)
    searcher = Searcher(load_index(tmp_path / "i", model_id="fake"), FAKE)
    question = "Plant Alpine einen Einstieg in die IMSA?"
    honest = compose_answer(searcher, question, min_evidence=0.0)
    assert not honest.abstained and len(honest.citations) >= 2
    assert all(c.quote in texts[c.article_id] for c in honest.citations)
    forged = honest.citations[0].quote

    def tampered(*args, **kwargs):  # the first quote no longer matches the article, the others still do
        quotes = real(*args, **kwargs)
        assert quotes[0].text == forged
        return [dataclasses.replace(quotes[0], text=forged.replace("IMSA", "WEC", 1)), *quotes[1:]]

    real = answers.select_quotes
    monkeypatch.setattr(answers, "select_quotes", tampered)
    answer = compose_answer(searcher, question, min_evidence=0.0)
    assert not answer.abstained
    assert [c.quote for c in answer.citations] == [
        c.quote for c in honest.citations[1:]
    ]  # the rest, verbatim
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))  # numbered afresh


@pytest.mark.parametrize(
    ("quote", "fragment"),
    [
        ("Es ist nur eine Idee.", "Es%20ist%20nur%20eine%20Idee."),
        ("IMSA-Programm, WEC & mehr", "IMSA%2DProgramm%2C%20WEC%20%26%20mehr"),
    ],
)
def test_text_fragment_links_encode_the_quote(quote, fragment):
    assert (
        text_fragment_link("https://example.org/a#top", quote) == f"https://example.org/a#:~:text={fragment}"
    )


def test_long_quotes_link_by_their_first_and_last_words():
    quote = "Derzeit ist Alpine mit dem A424 LMDh ausschließlich in der Langstrecken-WM unterwegs."
    link = text_fragment_link("https://example.org/a", quote)
    start, end = link.split("#:~:text=")[1].split(",")
    assert unquote(start) == "Derzeit ist Alpine mit"
    assert unquote(end) == "in der Langstrecken-WM unterwegs."
    assert text_fragment_link("", quote) == ""


def _idf(rare: set[str]):
    """An IDF where the stems in `rare` count five times as much as any other."""
    return lambda stem: 5.0 if stem in rare else 1.0


def test_a_rare_question_word_outweighs_common_ones():
    text = (
        "Der Verein meldet am Montag einen neuen Rekord beim Umsatz im Verein. "
        "Der Kapitän Marko Arnautović verlängert seinen Vertrag bis 2027."
    )
    article = Article(id="a", title="t", text=text)
    question = "Bis wann verlängert der Verein mit Arnautović?"
    asked = Question.of(
        question, FAKE.embed_queries([question])[0], question_concepts(question), _idf({"arnautović"})
    )
    quotes = select_quotes(asked, hits_for(article, 200), units_of, _idf({"arnautović"}), 1)
    assert quotes[0].text.startswith("Der Kapitän Marko Arnautović")


def test_the_sentence_with_what_the_question_asks_for_wins_a_tie():
    text = (
        "Die Gewerkschaft fordert mehr Transparenz bei All-in-Verträgen. "
        "Bisher haben 18 Prozent der Arbeiter einen All-in-Vertrag."
    )
    article = Article(id="a", title="t", text=text)
    for question, expected in (
        ("Wie viele Arbeiter haben All-in-Verträge?", "Bisher haben 18 Prozent"),
        ("Wer fordert All-in-Verträge mit Transparenz?", "Die Gewerkschaft fordert"),
    ):
        quotes = select(question, hits_for(article, 200), max_quotes=1)
        assert quotes[0].text.startswith(expected), question


def test_a_name_in_the_sentence_before_counts_as_context():
    text = (
        "Ein Sprecher der Stadt äußerte sich am Abend. "
        "Die Polizei ermittelt wegen des Brandes. "
        "Rapid Wien trennt sich von Trainer Zoran Barišić. "
        "Er hatte den Verein drei Jahre lang betreut."
    )
    article = Article(id="a", title="t", text=text)
    quotes = select("Wie lange hat Rapid Wien Barišić betreut?", hits_for(article, 200), max_quotes=3)
    assert any("drei Jahre lang" in q.text for q in quotes)


def test_a_quote_takes_the_sentence_after_that_refers_back_to_it():
    text = (
        "Ein Sprecher der Polizei äußerte sich am Abend nicht zu dem Vorfall. "
        "Die erste Warschauer Börse wurde im Jahr 1817 gegründet "
        "und bis zum Zweiten Weltkrieg weitergeführt. "
        "Sie wurde im April 1991 nach dem Ende der kommunistischen Kontrolle wieder eröffnet. "
        "Heute notieren dort mehr als 400 Unternehmen aus vielen Ländern Europas."
    )
    article = Article(id="a", title="t", text=text)
    quotes = select("Wann wurde die erste Warschauer Börse gegründet?", hits_for(article, 200), max_quotes=1)
    assert quotes[0].text.startswith("Die erste Warschauer Börse")
    assert quotes[0].text.endswith("wieder eröffnet.")  # "Sie" is the exchange: one statement


def test_a_quote_that_opens_by_referring_back_takes_the_sentence_before():
    text = (
        "Die Polizei ermittelt wegen eines Brandes in der Innenstadt von Graz. "
        "Rapid Wien trennt sich nach der Niederlage von Trainer Zoran Barišić. "
        "Er hatte den Verein drei Jahre lang betreut und zweimal ins Cupfinale geführt."
    )
    article = Article(id="a", title="t", text=text)
    quotes = select(
        "Hatte er den Verein drei Jahre lang betreut und ins Cupfinale geführt?",
        hits_for(article, 200),
        max_quotes=1,
    )
    assert quotes[0].text.startswith("Rapid Wien trennt sich")  # who "er" is


def test_a_quote_without_the_kind_of_answer_asked_takes_the_neighbour_that_has_it():
    text = (
        "Der Stadtrat von Graz hat den Bau der neuen Brücke über die Mur am Montag beschlossen. "
        "Gekostet hat das Projekt bisher 12 Millionen Euro, wie das Bauamt mitteilte. "
        "Die Opposition kritisiert vor allem den Standort beim Augarten und die lange Bauzeit."
    )
    article = Article(id="a", title="t", text=text)
    quotes = select(
        "Wie viel kostet der Bau der neuen Brücke über die Mur in Graz?", hits_for(article, 200), max_quotes=1
    )
    assert quotes[0].text.startswith("Der Stadtrat von Graz")
    assert "12 Millionen Euro" in quotes[0].text


def test_at_most_two_quotes_come_from_one_article():
    filler = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt " * 2
    # (sentences this long are never joined: two would exceed MAX_JOINED_CHARS)
    sentences = [
        f"Alpine prüft einen Plan für die IMSA ab 2026, {filler} ut labore.",
        f"Der Plan sieht vor, dass Alpine in der IMSA mit Signatech antritt, {filler} et dolore.",
        f"Famin nennt den IMSA-Plan von Alpine noch vage, {filler} magna aliqua.",
        f"Ob Alpine den Plan umsetzt, entscheidet Renault im Herbst über die IMSA, {filler} enim.",
        f"Bis dahin bleibt Alpine mit dem Plan für die IMSA in der WEC, {filler} minim veniam.",
    ]
    article = Article(id="a", title="t", text=" ".join(sentences))
    other = Article(id="b", title="t", text="Die IMSA fährt in Daytona mit Alpine als Gast.")
    hits = hits_for(article, 200) + hits_for(other, 200)
    quotes = select("Alpine IMSA Plan", hits, max_quotes=3)
    assert [q.article.id for q in quotes].count("a") == 2
    assert "b" in {q.article.id for q in quotes}


def test_a_sentence_nearly_as_good_as_the_best_joins_the_quote_it_follows():
    # Two sentences too long together for a quote's window (MAX_QUOTE_CHARS), short enough to be joined
    filler = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt"
    topic = f"Alpine prüft einen Plan für die IMSA mit Signatech, {filler} ut labore et dolore magna aliqua."
    answer = f"Der Plan für die IMSA sieht vor, dass Alpine mit Signatech antritt, {filler} ut enim ad minim."
    others = [
        f"Famin nennt den IMSA-Plan von Alpine noch vage, {filler} quis nostrud exercitation.",
        f"Ob Alpine den Plan umsetzt, entscheidet Renault im Herbst über die IMSA, {filler} ullamco.",
    ]
    article = Article(id="a", title="t", text=" ".join([topic, answer, *others]))
    assert MAX_QUOTE_CHARS < len(topic) + 1 + len(answer) <= MAX_JOINED_CHARS
    quotes = select("Alpine IMSA Plan Signatech", hits_for(article, 200), max_quotes=3)
    assert any(topic in q.text and answer in q.text for q in quotes)
    assert len(quotes) <= 2  # joined, the two are still one quote


def _features(question: str, article: Article, typical: float = 0.0) -> dict[str, list[float]]:
    """Each feature of quotes.FEATURES for the article's sentences, in article order."""
    asked = Question.of(
        question, FAKE.embed_queries([question])[0], question_concepts(question), lambda _: 1.0
    )
    rows = quotes._sentences(asked, hits_for(article, 200), units_of, lambda _: 1.0, typical)
    return {name: [float(s.features[i]) for s in rows] for i, name in enumerate(quotes.FEATURES)}


def test_only_an_article_long_enough_to_have_a_lede_gets_one():
    opening = "Alpine prüft einen Plan für die IMSA ab 2026."
    body = " ".join(
        f"Renault entscheidet im Herbst über Budget Nummer {n} für die Saison." for n in range(40)
    )
    long_article = Article(id="long", title="t", text=f"{opening} {body}")
    short_article = Article(id="short", title="t", text=f"{opening} {body[:300]}")
    assert len(long_article.text) >= quotes.LEDE_ARTICLE_CHARS > len(short_article.text)

    long_lede = _features("Plant Alpine die IMSA?", long_article)["lede"]
    assert long_lede[0] == 1.0 and long_lede[-1] == 0.0  # the opening is lede, the end of the body not
    assert set(_features("Plant Alpine die IMSA?", short_article)["lede"]) == {0.0}  # a paragraph: no lede


def test_the_sentence_nearest_the_question_is_marked_and_only_it():
    article = Article(
        id="a",
        title="t",
        text="Der Winter war kalt. Alpine fährt ab 2026 in der IMSA mit Signatech. Renault zahlt das Budget.",
    )
    features = _features("Alpine IMSA Signatech", article)
    assert features["nearest"] == [0.0, 1.0, 0.0]
    assert features["cosine"][1] == max(features["cosine"])


def test_a_sentence_cosine_counts_by_its_rise_above_the_typical_cosine():
    # multilingual-e5-small puts unrelated text near 0.75, all-MiniLM-L6-v2 near 0.1: one weight fits both
    article = Article(id="a", title="t", text="Alpine fährt ab 2026 in der IMSA. Renault zahlt das Budget.")
    plain = np.array(_features("Alpine IMSA", article)["cosine"])
    risen = np.array(_features("Alpine IMSA", article, typical=0.2)["cosine"])
    assert risen == pytest.approx((plain - 0.2) / 0.8, abs=1e-6)
