"""Training Data Studio: build, generate, review and export annotated fine-tuning conversations."""
