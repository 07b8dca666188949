"""Texts become vectors: the Embedder protocol, its backends (sentence-transformers, ONNX fp32 and int8),
the ONNX export and cache, and embedding on Ray workers.
Imports nothing else of `index`; the rest of the engine sees only `Embedder` and `create_embedder`."""
