# Running contextzip/__main__.py would start the CLI, so doctest collection skips it.
collect_ignore = ["contextzip/__main__.py"]
