"""Saved worlds from the TUI's command palette (World: save, load, list, delete): the
whole stack's state under a name in worlds/, as `simulator world ...` does."""

from __future__ import annotations

from rich.markup import escape
from textual import work

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.worldgen import SpecError, load_or_generate
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.screens.ask import AskScreen
from promptpipe_simulator.tui.screens.confirm import ConfirmScreen


class WorldActions(SimulatorBase):
    def _names(self) -> str:
        names = [w.name for w in self.backend.worlds.folder.list()]
        return ", ".join(names) if names else "none saved yet"

    def action_world_save(self) -> None:
        def answered(name: str | None) -> None:
            if name:
                self.save_world(name)

        self.push_screen(
            AskScreen("Save the whole stack as the world:", placeholder="demo-2"), answered
        )

    @work(group="world", exclusive=True)
    async def save_world(self, name: str) -> None:
        try:
            info, timing = await self.backend.worlds.save(name)
        except StackError as exc:
            self.notify(str(exc), title="World not saved", severity="error")
            return
        self.notify(
            f"{info.participants} participants, {info.size_bytes / 1e6:.1f} MB in "
            f"{timing.total:.1f}s: {info.path}",
            title=f"Saved world {name}",
        )

    def action_world_load(self) -> None:
        def answered(name: str | None) -> None:
            if name:
                self.load_world(name)

        self.push_screen(
            AskScreen(
                f"Load the world (replaces the whole stack's state; saved: {self._names()}):",
                placeholder="demo",
            ),
            answered,
        )

    @work(group="world", exclusive=True)
    async def load_world(self, name: str) -> None:
        self.notify(f"Loading {name}…", title="World")
        try:
            said = await load_or_generate(self.backend, name)
        except (StackError, SpecError) as exc:
            self.notify(str(exc), title="World not loaded", severity="error")
            return
        await self.open_participant(None)  # whoever was open may not exist in the world
        self.notify(said, title=f"World {name}")
        self.refresh_all()

    def action_world_list(self) -> None:
        found = self.backend.worlds.folder.list()
        if not found:
            self.notify(f"No saved worlds in {self.backend.worlds.folder.folder}", title="Worlds")
            return
        lines = [
            f"{escape(w.name)}: {w.participants} participants, now {w.now[:16]}, "
            f"{w.size_bytes / 1e6:.1f} MB"
            for w in found
        ]
        self.notify("\n".join(lines), title="Saved worlds", timeout=10)

    def action_world_delete(self) -> None:
        def answered(name: str | None) -> None:
            if not name:
                return

            def confirmed(yes: bool | None) -> None:
                if not yes:
                    return
                try:
                    self.backend.worlds.folder.delete(name)
                except StackError as exc:
                    self.notify(str(exc), title="Not deleted", severity="error")
                    return
                self.notify(f"Deleted world {name}", title="Worlds")

            self.push_screen(ConfirmScreen(f"Delete the saved world {name}?"), confirmed)

        self.push_screen(AskScreen(f"Delete the saved world (saved: {self._names()}):"), answered)
