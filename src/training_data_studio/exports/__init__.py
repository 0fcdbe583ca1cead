"""Training-set export: chat JSONL, ShareGPT and annotated JSON with a deterministic split and a manifest."""
