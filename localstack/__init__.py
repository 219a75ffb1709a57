"""The embedded local AWS stack: moto's server on 127.0.0.1, provisioning, names.

Run from the repository root (``python -m localstack.emulator``, ``python -m localstack.provision``).
This folder is not the LocalStack product (``localstack-core``); see README.md here for both.
"""
