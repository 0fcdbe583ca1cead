"""The 100-conversation plan and the prompt templates shipped in data/, and `tds db seed`."""
