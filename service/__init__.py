"""The service around the actors: the runtime (composition root), the command dispatcher and
its rate limits, the channels it routes to, the long-running host with its control socket,
status, metrics, supervision and the watchdog."""
