"""What a scenario's steps do, by who does them: the participant, the operator, the checks
(and the migration's controls and check, in migration.py).

Each module maps its actions (the keys of `scenario.ACTIONS`) to a handler that takes the
step, the actor it concerns and the `Stage` the run plays on, and returns what it saw.
"""

from __future__ import annotations

from promptpipe_simulator.core.steps import (
    expectations,
    migration,
    operator_actions,
    participant_actions,
)
from promptpipe_simulator.core.steps.stage import Handler

HANDLERS: dict[str, Handler] = {
    **participant_actions.HANDLERS,
    **operator_actions.HANDLERS,
    **expectations.HANDLERS,
    **migration.HANDLERS,
}
