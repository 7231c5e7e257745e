"""A discrete-event model of one hot sku in DynamoDB (issue 17, part 3): stock split
into buckets, DynamoDB's conflict and per-partition rules (the contention proxy's own
code on simulated time), the service's retries; checked against a measured run here.

- ``parameters``: documented limits, assumed AWS latency, this machine's timing, a scenario
- ``table``: a transaction attempt on simulated time, judged by ``local.contention.rules``
- ``buckets``: the sharded stock record, its conditions and rebalancing
- ``reserve``: one reserve with the service's retry policy
- ``simulation``: one scenario run, open or closed loop, and its figures
- ``sweep``: the AWS grid, the target's verdicts, the scarce-stock sell-out
- ``measured``, ``calibration``: the run on this machine and the model beside it
- ``plot``, ``section``: the PNG and the block of docs/performance.md
"""
