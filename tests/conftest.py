import os
from pathlib import Path

import pytest
import yaml

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no model hub here: the bundled model is loaded from disk

from tests.fakes import FakeEmbedder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CORPUS = ROOT / "corpus"
SEED_ID = "000_b42d2c4aa54e0ed9"


def write_article(folder: Path, name: str, title: str, text: str, **meta) -> Path:
    """A Markdown article with front matter, as the corpus holds them."""
    path = folder / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    front = yaml.safe_dump({"title": title, **meta}, allow_unicode=True, sort_keys=False)
    path.write_text(f"---\n{front}---\n\n{text}\n", encoding="utf-8")
    return path


def write_two_articles(folder: Path) -> Path:
    """A corpus of two short articles (Alpine, Ferrari) in `folder`: enough for a build to publish."""
    write_article(folder, "alpine", "Alpine und die IMSA", "Alpine plant keinen Einstieg in die IMSA.")
    write_article(folder, "ferrari", "Ferrari in Le Mans", "Ferrari gewinnt in Le Mans erneut.")
    return folder


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The default model (multilingual-e5-small) on torch, loaded once per test session."""
    from index.embed.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


# The seed article's body, as shipped in corpus/ (the front matter cut off).
SEED_TEXT = (SHIPPED_CORPUS / f"{SEED_ID}.md").read_text(encoding="utf-8").split("---\n", 2)[2].strip()
