"""Pure domain of vipb: command models, aggregates with their events, errors and rules.

Nothing in this package imports from ``actors``, ``projections`` or ``adapters``.
"""
