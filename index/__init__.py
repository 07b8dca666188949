"""The retrieval engine: articles in, a searchable index out. Never imports `bot`."""
