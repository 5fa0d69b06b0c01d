"""One module per compressor family, each behind the :class:`contextzip.Compressor` protocol.

Find them by name with :func:`contextzip.get_compressor`; importing this package
imports none of them.
"""
