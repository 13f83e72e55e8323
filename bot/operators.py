"""What help-desk operators can do to a dialog; each action is recorded in the dialog log by name."""

from __future__ import annotations

from typing import Any, Protocol

from bot.clock import Clock
from bot.commands import Close, Command, Outcome, Repeat
from bot.store import Store
from dialogs.model import Dialog, iso
from domain.masking import mask_msisdn, scrub


class DialogEngine(Protocol):
    """What the desk uses of the engine (bot.engine.Engine, which builds the desk: so the desk does not import it)."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    async def run(self, command: Command) -> Outcome: ...


class OperatorDesk:
    """Operator actions: resend and close are engine commands (bot/commands.py); note and reveal only log."""

    def __init__(self, engine: DialogEngine) -> None:
        self.engine = engine

    async def resend(self, dialog_id: str, operator: str) -> Dialog | None:
        """Resend the open question; None when the dialog waits for no answer."""
        dialog = await self.engine.store.load(dialog_id)
        if dialog is None or await self.engine.store.phone_active(dialog.msisdn) != dialog_id:
            return None
        # Proactive: held for quiet hours like any SMS the citizen did not just ask for.
        return (await self.engine.run(Repeat(dialog.msisdn, dialog.last_channel, proactive=True,
                                             note=operator_record(dialog, "resend", operator)))).dialog

    async def close(self, dialog_id: str, reason: str, operator: str) -> Dialog | None:
        """Close a dialog with a reason (an open one goes to `closed`); None for an unknown dialog."""
        return (await self.engine.run(Close(dialog_id, reason, operator))).dialog

    async def add_note(self, dialog_id: str, text: str, operator: str) -> Dialog | None:
        """A note kept in the dialog log (personal data in it masked); None for an unknown dialog."""
        return await self._log(dialog_id, "note", operator, text=scrub(text))

    async def reveal(self, dialog_id: str, operator: str) -> Dialog | None:
        """The dialog with its personal data, for an operator who asked for it; the look is logged."""
        return await self._log(dialog_id, "reveal", operator)

    async def _log(self, dialog_id: str, action: str, operator: str, **details: Any) -> Dialog | None:
        engine = self.engine
        dialog = await engine.store.load(dialog_id)
        if dialog is None:
            return None
        record = {"at": iso(engine.clock.now()), "dialog_id": dialog.dialog_id, "service": dialog.service,
                  "msisdn": mask_msisdn(dialog.msisdn), **operator_record(dialog, action, operator, **details)}
        await engine.store.append_log(dialog, [record])
        return dialog


def operator_record(dialog: Dialog, action: str, operator: str, **details: Any) -> dict[str, Any]:
    """A dialog-log record of what an operator did, by name."""
    return {"type": "operator", "action": action, "operator": operator, "status": dialog.status, **details}
