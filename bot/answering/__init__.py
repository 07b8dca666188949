"""The answer pipeline: what a question asks for (`answer_types`), the sentences quoted (`quotes`), and the
answer or abstention (`answers`). Pure functions over search hits; imports `index` and `bot.settings` only.
After them, optional: a language model's reading of the quotes (`model`, the only `openai` import, loaded
only when PITWALL_LLM_URL is set) and its check against the quotes (`verify`, pure)."""
