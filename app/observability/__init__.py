"""Watching the service run: Prometheus metrics, JSON logs with a request id, per-request timing.

- ``prometheus.py``: the metric objects, the ``/metrics`` route, the ingest and pool hooks.
- ``logs.py``: the JSON log formatter, the request-id context, secret redaction.
- ``middleware.py``: the ASGI middleware that gives each request an id and a latency sample.
"""
