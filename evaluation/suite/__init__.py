"""The evaluation suite behind ``evaluation/run_all.py``: config validation, stages, state, sharding, results."""
