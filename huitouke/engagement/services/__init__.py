"""Engagement writes, one module per subject: outbox (enqueue), delivery (the worker), inbound (replies),
settings (channels, caps, rules)."""
