"""``python -m entrypoints.cli``: the ``vipb`` command, started as the console script is."""

from entrypoints.cli.launch import main

main()
