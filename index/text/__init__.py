"""Text analysis, pure and model-free: language, paragraphs and sentences, chunking by token counts, the
lexical side (stemming, stopwords, German compounds, BM25, the FreeDict English-German dictionary).
May import `index.documents` and `index.errors` only; every other room builds on it."""
