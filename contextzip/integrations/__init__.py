"""Adapters to the frameworks and gateways users already run: LangChain, LiteLLM."""
