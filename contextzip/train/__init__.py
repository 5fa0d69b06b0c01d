"""Training token classifiers for the token-classification compressor.

:func:`init_token_classifier` starts one from a pre-trained encoder (all-MiniLM-L6-v2
from its package by default) with a fresh 2-label head.
"""

from contextzip.train.model import init_token_classifier

__all__ = ["init_token_classifier"]
