"""Fakes of the LLM providers, speaking their HTTP APIs on localhost.

They live in the package (as Procrastinate's `testing` module does) because both the test suite and
`tds bench generate` run against them; nothing in the product imports them.
"""
