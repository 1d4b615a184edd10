"""Evaluation on IntentionQA, knowledge-base statistics and the instruction-tuning export."""
