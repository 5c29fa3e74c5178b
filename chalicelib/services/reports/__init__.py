"""The owner's report (R1-R5), as use cases.

- ``render``: the figures as the email's rows, charts, text and HTML (no I/O but the templates).
- ``compose``: a shop's report email for a period, from one streaming pass over its records.
- ``sending``: which shops' reports are due now, each sent once per (shop, period).
- ``runs``: what the last runs did, as the admin CLI shows it to an operator.
"""
