"""Distillation and fine-tuning of token-classification compressors."""
