"""glue-api-etl: call a REST API once per row of a Spark table, into a bronze table.

Layers (each a sub-package):
- ``config``: typed, validated configuration (driver side).
- ``compile``: turns a validated config into picklable factories for the workers.
- ``auth``, ``transport``, ``middleware``, ``engine``: the worker-side runtime.
- ``pipeline``: the driver: sources, staged batches, checkpoints, sink, metrics.
- ``aws``: thin adapters over boto3 (S3, Secrets Manager, CloudWatch, Glue catalog).
"""

__version__ = "0.1.0"
