"""The owner's report (R1-R5), pure: what it is computed from and when it is due.

- ``facts``: what the report reads of each order, call and agent status change.
- ``tally``: one pass over a period's facts (``ReportTally``), so a busy day never has to fit
  in memory: every figure is a counter, a sum, a per-hour or per-agent row, or a histogram.
- ``figures``: what the tally yields (``DailyFigures`` and its parts) and the shares it states.
- ``periods``: the day, week and month a report covers, and when each is due on the shop's clock.
- ``runs``: what a scheduled run did with a shop's report, for the operator.
"""
