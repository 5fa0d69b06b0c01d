"""The transparent compression proxy for OpenAI-compatible and Anthropic APIs."""
