"""Offline QA-benchmark evaluation of compressors."""
