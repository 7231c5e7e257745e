"""Soft reservations of inventory: the domain shared by every Lambda function.

Invariants (see docs/architecture.md):
- every stock record keeps ``available == onHand - reserved``;
- ``reserved`` equals the sum of what live holds still hold on that record;
- a line without ``allowOversell`` is granted only while ``available >= quantity``, one
  with it only while ``available - quantity >= -MAX_OVERSELL_PER_RECORD``.
All three are enforced in one place, :mod:`reservations.table`.
"""
