"""Entry points: the ``vipb`` command line, above the service layer (docs/design.md)."""
