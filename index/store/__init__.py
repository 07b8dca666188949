"""Where an index lives: the Store protocol (`stores.py`), FAISS generations on disk with their manifest,
integrity checks and build lock (`generations.py`, `integrity.py`, `dense.py`), and Milvus (`milvus.py`).
May import `index.documents`, `index.errors` and `index.text`; never `embed`, `ingest` or the top level."""
