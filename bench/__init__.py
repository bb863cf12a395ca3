"""The benchmark harness (`make bench`): seeds a large data set, serves it with
gunicorn, drives it with wrk and writes docs/PERFORMANCE.md. See bench/run.py."""
