"""Adapters to agent frameworks (LangChain); filled by the LangChain integration."""
