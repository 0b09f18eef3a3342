"""The performance benchmark of onestop-metrics: ``python -m bench run --help``.

Not a test: it measures. Every PostgreSQL database it uses is created and dropped by it, every
server it starts is stopped by it, and all traffic goes to 127.0.0.1.
"""
