"""Defaults shared by every command and class that plays a chat model (kept free of imports:
the CLI reads them when it starts)."""

#: Rounds an LLM episode may last before it is truncated: one default for every command that
#: plays a model (``eval``, ``play``, ``serve-openenv``, ``serve-scripted``).
DEFAULT_MAX_ROUNDS = 40
