"""Supervised evaluations on a backbone: fine-tuning and linear probes (`finetune`), and the end tasks.

Each task trains through the one engine (`vidkit.engine.train.fit`) and evaluates through the one
inference loop (`vidkit.engine.inference`).
"""
