"""Stream record handlers and schedule bodies: what ``app.py`` registers for the DynamoDB streams
and the schedules. Each translates its record or tick, takes its collaborators from
``chalicelib.wiring`` and calls the services."""
