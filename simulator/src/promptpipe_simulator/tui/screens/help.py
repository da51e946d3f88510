"""The help screen: every key binding, and what the simulator is showing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# PromptPipe simulator

You play WhatsApp participants; the stack (delivery, agent, fake WhatsApp) answers.

| key | action |
| --- | --- |
| `ctrl+n` (or `n`) | enroll a new participant (a generated persona) |
| `↑` `↓` | choose a participant in the sidebar |
| `Enter` | in the composer: send the message as that participant |
| click a button | tap a reply button (Done, Next time) under the coach's message |
| `F3` | pause or resume the selected participant |
| `F4` | enroll five personas at once |
| `F10` | delete the selected participant (asks first) |
| `F5` | show or hide the event log (every webhook, its retries and latency) |
| `f` | in the event log: only the selected participant's events, or everyone's |
| `Enter` or click | on a line of the event log: the event in full (raw JSON, payload, signature) |
| `F2` (or `i`) | show or hide the inspector (sub-state, profile, pending jobs, last turn) |
| `r` | refresh now |
| `F6` `F7` `F8` `F9` | time travel: +10 min, +1 h, +5 h, +1 day (due prompts fire) |
| `ctrl+o` | time travel to the next morning (08:00 on the participant's clock) |
| `t` (or `ctrl+t`) | time travel to `3h`, `next 08:00` (participant's clock), a date-time |
| `a` | agent fault: cycle OK → slow (5 s a call) → down (retries, then the apology) → OK |
| `w` | WhatsApp errors on half the sends (needs the mock's faults API) |
| `ctrl+r` | run a scenario file, shown live in the event log |
| `ctrl+s` | save the selected participant's conversation as a scenario (`scenarios/`) |
| `ctrl+p` | command palette: every action, faults and scenarios included |
| `F1` (or `?`) | this help |
| `q` | quit |

Ticks: ✓ sent · ✓✓ delivered · **blue ✓✓** read · ✗ failed.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Markdown(HELP)
