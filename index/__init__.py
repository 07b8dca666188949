"""The retrieval engine: articles in, a searchable index out. Never imports `bot`.

Rooms, lowest first (a room imports only rooms above it in this list):
- `documents.py`, `errors.py`: the data passed around (Article, Chunk, LoadError) and the user-error base.
- `text/`: language, sentences, chunking, stemming, stopwords, compounds, translation, BM25.
- `ingest/`: the corpus folder read into Articles.
- `embed/`: texts into vectors.
- `store/`: where an index lives (FAISS generations on disk, or Milvus).
- `build.py`, `milvus_build.py`, `search.py`, `fusion.py`, `background.py`: the stages that join them.
"""
