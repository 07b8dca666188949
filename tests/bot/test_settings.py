"""Each setting is read from its environment variable, documented, and reaches every place it claims to
(fake embedder: no model load)."""

import os
import re
import threading

import pytest
from pydantic import ValidationError

from bot import service as service_module
from bot.cli import error_message
from bot.discord_bot.settings import DiscordSettings
from bot.service import AnswerService, make_embedder
from bot.settings import MIN_EVIDENCE, Settings, SettingsFileError
from tests.conftest import ROOT, write_article
from tests.fakes import FakeEmbedder

README = (ROOT / "README.md").read_text(encoding="utf-8")


def env_name(field: str) -> str:
    return f"PITWALL_{field.upper()}"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No PITWALL_ variable or .env file of the machine running the tests."""
    for name in list(os.environ):
        if name.startswith("PITWALL_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def service(tmp_path, **overrides) -> AnswerService:
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", **overrides)
    return AnswerService(settings, lambda _: FakeEmbedder())


def test_every_setting_is_in_the_readme_table_and_every_documented_one_exists():
    documented = set(re.findall(r"^\| `(PITWALL_\w+)`(?:, `(PITWALL_\w+)`)?", README, flags=re.MULTILINE))
    documented = {name for pair in documented for name in pair if name}
    assert documented == {env_name(field) for field in Settings.model_fields}


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("PITWALL_CORPUS_DIR", "news", "corpus_dir", "news"),
        ("PITWALL_INDEX_DIR", "idx", "index_dir", "idx"),
        ("PITWALL_EMBEDDING_MODEL", "intfloat/multilingual-e5-small", "embedding_model", None),
        ("PITWALL_EMBEDDING_BACKEND", "torch", "embedding_backend", None),
        ("PITWALL_QUERY_PROMPT", "query: ", "query_prompt", None),
        ("PITWALL_PASSAGE_PROMPT", "passage: ", "passage_prompt", None),
        ("PITWALL_CHUNK_OVERLAP_SENTENCES", "2", "chunk_overlap_sentences", 2),
        ("PITWALL_CHUNK_TARGET_TOKENS", "64", "chunk_target_tokens", 64),
        ("PITWALL_LEXICAL_WEIGHT", "0.25", "lexical_weight", 0.25),
        ("PITWALL_MIN_EVIDENCE", "0.5", "min_evidence", 0.5),
    ],
)
def test_each_setting_is_read_from_its_variable(clean_env, monkeypatch, variable, value, field, expected):
    monkeypatch.setenv(variable, value)
    read = getattr(Settings(), field)
    assert str(read) == value if expected is None else read == type(read)(expected)


def test_a_dot_env_file_is_read(clean_env, tmp_path):
    (tmp_path / ".env").write_text("PITWALL_MIN_EVIDENCE=0.4\n", encoding="utf-8")
    assert Settings().min_evidence == 0.4


def test_the_model_settings_reach_the_embedder(monkeypatch):
    made = []
    monkeypatch.setattr(
        service_module, "create_embedder", lambda model, **kwargs: made.append((model, kwargs))
    )
    settings = Settings(
        embedding_model="some/model", embedding_backend="onnx", query_prompt="q: ", passage_prompt="p: "
    )
    make_embedder(settings)
    assert made == [("some/model", {"query_prompt": "q: ", "passage_prompt": "p: ", "backend": "onnx"})]


def test_the_chunking_settings_reach_the_index(tmp_path):
    sentences = " ".join(f"Satz {i} hat sechs Tokens." for i in range(12))  # 6 fake word pieces each
    write_article(tmp_path / "corpus", "lang", "Lang", sentences)

    def chunks(**overrides):
        built = service(tmp_path, **overrides)
        built.reindex()
        data = built.searcher().store.data
        return data.manifest.chunking, [data.chunk(row).text for row in range(len(data.chunk_table))]

    chunking, texts = chunks(chunk_overlap_sentences=0, chunk_target_tokens=18)
    assert (chunking["overlap_sentences"], chunking["target_tokens"]) == (0, 18)
    assert [text.count("Satz") for text in texts] == [3, 3, 3, 3]  # 18 tokens: three sentences, none shared

    chunking, texts = chunks(chunk_overlap_sentences=1, chunk_target_tokens=30)
    assert (chunking["overlap_sentences"], chunking["target_tokens"]) == (1, 30)
    assert texts[0].endswith("Satz 4 hat sechs Tokens.") and texts[1].startswith("Satz 4 ")  # one shared


@pytest.fixture
def imsa_corpus(tmp_path):
    """Dense search (with the fake embedder: word overlap, stopwords included) and BM25 (stopwords dropped,
    short passages preferred) disagree on "in der IMSA"."""
    folder = tmp_path / "corpus"
    write_article(folder, "alpine", "Alpine", "Alpine plant keinen Einstieg in die IMSA.")
    write_article(folder, "penske", "Penske", "Porsche und Penske fahren in der WEC und in der IMSA.")
    write_article(
        folder, "box", "Box", "In der Saison ist der Wagen in der Box, in der Halle und in der IMSA."
    )
    return folder


@pytest.mark.parametrize(("weight", "mode"), [(0.0, "dense"), (1.0, "bm25")])
def test_the_lexical_weight_reaches_hybrid_search(tmp_path, imsa_corpus, weight, mode):
    built = service(tmp_path, lexical_weight=weight)
    built.reindex()
    hybrid = [hit.article_id for hit in built.search("in der IMSA", k=3)]
    alone = [hit.article_id for hit in built.search("in der IMSA", k=3, mode=mode)]
    assert hybrid == alone
    assert {"dense": "box", "bm25": "alpine"}[mode] == hybrid[0]  # the two really disagree here


def test_min_evidence_reaches_the_answers(tmp_path, imsa_corpus):
    question = "Plant Alpine einen Einstieg in die IMSA?"
    default = service(tmp_path)
    default.reindex()
    assert not default.ask(question).abstained
    strict = service(tmp_path, min_evidence=99)
    assert strict.ask(question).abstained
    lenient = service(tmp_path, min_evidence=-99)
    assert not lenient.ask("Wie backe ich Brot?").abstained  # even a question off the topic is answered


def test_a_dot_env_that_is_a_pipe_is_not_read_and_does_not_block(clean_env, tmp_path, caplog):
    os.mkfifo(tmp_path / ".env")  # opening it to read would wait for a writer forever
    read = []
    reader = threading.Thread(target=lambda: read.extend([Settings(), DiscordSettings()]), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # blocked in open(): a writer that closes at once lets it go
        os.close(os.open(tmp_path / ".env", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading the settings blocked on a .env that is a pipe")
    assert read[0].min_evidence == MIN_EVIDENCE and read[1].rate_limit_per_minute == 6
    assert ".env is not a regular file: its settings are not read" in caplog.text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PITWALL_MIN_EVIDENCE=0.4\nPITWALL_X=\xff\n", "the settings file .env is not UTF-8 (line 2)"),
        (
            b"PITWALL_MIN_EVIDENCE=0.4\nDISCORD_TOKEN geheim 'x\n",
            "the settings file .env has a line python-dotenv cannot parse (line 2)",
        ),
    ],
)
def test_a_dot_env_that_cannot_be_read_is_one_line_naming_the_file(clean_env, tmp_path, content, expected):
    (tmp_path / ".env").write_bytes(content)
    with pytest.raises(SettingsFileError) as error:
        Settings()
    assert str(error.value).startswith(expected) and "geheim" not in str(error.value)
    assert error_message(error.value).startswith(expected)


@pytest.mark.parametrize("variable", ["PITWALL_MIN_EVIDENCE", "PITWALL_LEXICAL_WEIGHT"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "-Infinity"])
def test_a_float_setting_rejects_nan_and_infinities_naming_the_setting(
    clean_env, monkeypatch, variable, value
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert error_message(error.value) == f"invalid setting {variable}: Input should be a finite number"


def test_the_discord_float_setting_rejects_nan(clean_env, monkeypatch):
    monkeypatch.setenv("PITWALL_DISCORD_SHUTDOWN_GRACE", "nan")
    with pytest.raises(ValidationError, match="finite number"):
        DiscordSettings()
