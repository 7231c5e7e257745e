"""Mutation testing of the domain layer against the fast tiers (``make mutation``).

mutmut names a mutant after the file it lives in, and checks that the tests import it under
that name. The tests import the layer as ``reservations`` (pytest's ``pythonpath`` has
``layers/domain``), so mutmut runs in ``.mutation/``, where ``reservations`` is a link to
the layer's package: there a file's path and its import name agree. docs/testing.md says
what the results mean; ``report`` renders its table from them.
"""
