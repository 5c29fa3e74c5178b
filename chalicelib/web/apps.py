"""The Chalice app class both Lambda entry points use (``app.py``'s, for every route, and
``chalicelib.twilio_webhooks``', for the Twilio webhooks alone).

Chalice consumes a blueprint's route options when it registers them with an app (it pops
``methods``, ``content_types`` ... from the blueprint's own dict), so the second app to register
the same blueprint in one process would get every route as GET. The tests and the local stack
load both apps; registering a copy of the options keeps the blueprint's intact for the next.
"""

from __future__ import annotations

import copy
from typing import Any

from chalice import Chalice


class App(Chalice):
    def _register_handler(
        self,
        handler_type: str,
        name: str,
        user_handler: Any,
        wrapped_handler: Any,
        kwargs: Any,
        options: Any = None,
    ) -> None:
        super()._register_handler(handler_type, name, user_handler, wrapped_handler, copy.deepcopy(kwargs), options)
