"""`pitwall eval`: retrieval quality on SQuAD-format data (`retrieval`) and whether shown quotes hold the
answer (`answers`). Builds on `bot.service` and `bot.answering`; nothing else imports it but the CLI."""
