"""The chat (LLM) interface: OpenAI-style messages over the same simulator."""
