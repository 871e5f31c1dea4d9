"""The symbolic (z3) engine: see engine.py and docs/symbolic.md."""
