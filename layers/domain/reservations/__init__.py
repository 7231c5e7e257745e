"""Soft reservations of inventory: the domain shared by every Lambda function.

The invariants, and the one place each is enforced (:mod:`reservations.store`), are in
docs/architecture.md, "Invariants".
"""
