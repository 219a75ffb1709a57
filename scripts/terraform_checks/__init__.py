"""Offline checks for the Terraform under ``terraform/``: fmt, provider-schema check, helpers.

No terraform CLI or provider binary is available on the development machines, so these
tools stand in for ``terraform validate``; see ``terraform/README.md`` ("Static checks").
"""
