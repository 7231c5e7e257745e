"""Benchmarks of the reservation service, run as ``python -m bench`` (``make bench``).

One module per thing measured; each exposes ``NAME`` and ``run(stack, options) ->
Section``, and ``bench.__main__`` lists them in the order they run. The figures go to
``docs/performance.md`` (``python -m bench --write-doc`` rewrites its generated blocks).
"""
