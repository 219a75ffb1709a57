"""The worker-side engine: one Spark partition in, one bronze record per row out.

Modules (import them directly; this package imports nothing so that the transport and
auth contracts can import :mod:`.exchange` without cycles):

- :mod:`.exchange`: HttpRequest / HttpResponse / Exchange / Middleware types.
- :mod:`.request_builder`: RequestTemplate (row -> Exchange, request_id).
- :mod:`.rate_limiter`: TokenBucket, per_task_rate.
- :mod:`.terminal`: TransportCall, the innermost call (rate limit, attempt count, send).
- :mod:`.record`: RECORD_FIELDS, record_schema(), RecordBuilder.
- :mod:`.redaction`: Redactor (sensitive header / query names).
- :mod:`.identity`: WorkerIdentity, current_identity().
- :mod:`.plan`: WorkerPlan, the picklable description of a partition's work.
- :mod:`.partition`: PartitionEngine, make_partition_function().
"""
