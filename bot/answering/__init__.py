"""The answer pipeline: what a question asks for (`answer_types`), the sentences quoted (`quotes`), and the
answer or abstention (`answers`). Pure functions over search hits; imports `index` and `bot.settings` only."""
