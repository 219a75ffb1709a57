"""make demo: scripts/demo/run_demo.py."""
