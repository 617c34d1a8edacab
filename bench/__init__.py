"""chatwidget's benchmark suite: figures, never timed tests.

``python -m bench`` runs every phase on the embedded defaults (and on Redis/PostgreSQL with
``--redis``/``--postgres``) and writes JSON, a Markdown table and, where matplotlib is
installed, a latency-vs-rate plot. See bench/README.md.
"""
