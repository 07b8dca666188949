"""`pitwall bench`: speed and memory of building and answering.

- `run`: the bench itself (sizes in chunks, ask latency, FAISS alone) and its JSON document.
- `corpus`: the 10kGNAD articles it reads, repeated to reach a size, and the embedder that reuses vectors.
- `startup`: a full build of the real articles (characters per second) and a cold `pitwall ask` (time, RSS).
- `vectors`: FAISS alone on random unit vectors.
- `report`: the table and the chart; `stats`: percentiles and peak memory.
"""
