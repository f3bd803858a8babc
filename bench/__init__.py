"""Benchmarks: programs, not tests. Each prints its figures beside a ceiling measured in the same run.

* ``python -m bench.storage``: the storage layer on each backend against its raw engine.
* ``python -m bench.apiserver``: the real API server process against a bare Hypercorn endpoint.
* ``python -m bench.cacher_fanout``, ``python -m bench.sqlite_storage``: narrower studies.

Results and how to read them: ``docs/benchmarks.md``.
"""
