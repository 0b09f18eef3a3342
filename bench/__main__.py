"""``python -m bench run …``: see ``bench/run.py``."""

from bench.run import main

main()
