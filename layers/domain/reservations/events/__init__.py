"""Lifecycle events: what the table's stream says changed, told on an EventBridge bus
(docs/architecture.md, "Lifecycle events"). ``derive`` names the events of one item
change, ``bus`` publishes them, ``relay`` runs a stream batch through both."""
