"""Packaging helpers: upload_artifacts.py uploads the job script, wheel and config."""
