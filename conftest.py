import importlib.util

# Running contextzip/__main__.py would start the CLI, so doctest collection skips it.
collect_ignore = ["contextzip/__main__.py"]
# The LiteLLM guardrail subclasses LiteLLM's own class: it imports only where LiteLLM is installed
# (its tests run it inside LiteLLM's proxy, in LiteLLM's environment).
if importlib.util.find_spec("litellm") is None:
    collect_ignore.append("contextzip/integrations/litellm.py")
