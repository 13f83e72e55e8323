"""What help-desk operators can do to a dialog; each action is recorded in the dialog log by name."""

from __future__ import annotations

from typing import Any, Protocol

from bot.clock import Clock
from bot.fencing import Fence
from bot.step import Step
from bot.store import Store
from dialogs.model import Dialog, iso
from domain.masking import mask_msisdn, scrub


class DialogEngine(Protocol):
    """What the desk uses of the engine (bot.engine.Engine, which builds the desk: so the desk does not import it)."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    def step(self, dialog: Dialog, *, fence: Fence, proactive: bool, channel: str = "sms") -> Step: ...

    def fire(self, step: Step, trigger: str, **kwargs: Any) -> bool: ...

    async def finish(self, step: Step) -> None: ...

    async def repeat_question(self, msisdn: str, channel: str, *, note: dict[str, Any] | None = None,
                              proactive: bool = False) -> Dialog | None: ...


class OperatorDesk:
    """Operator actions on top of the engine: resend, close, note, reveal."""

    def __init__(self, engine: DialogEngine) -> None:
        self.engine = engine

    async def resend(self, dialog_id: str, operator: str) -> Dialog | None:
        """Resend the open question; None when the dialog waits for no answer."""
        dialog = await self.engine.store.load(dialog_id)
        if dialog is None or await self.engine.store.phone_active(dialog.msisdn) != dialog_id:
            return None
        # Proactive: held for quiet hours like any SMS the citizen did not just ask for.
        return await self.engine.repeat_question(dialog.msisdn, dialog.last_channel, proactive=True,
                                                 note=operator_record(dialog, "resend", operator))

    async def close(self, dialog_id: str, reason: str, operator: str) -> Dialog | None:
        """Close a dialog with a reason (an open one goes to `closed`); None for an unknown dialog."""
        reason = scrub(reason)  # shown to every operator and kept in the log: no personal data in it
        engine = self.engine
        dialog = await engine.store.load(dialog_id)
        if dialog is None:
            return None
        async with engine.store.phone_lock(dialog.msisdn) as lock:
            loaded = await engine.store.load(dialog_id)
            assert loaded is not None
            step = engine.step(loaded, fence=lock.fence, proactive=True)
            closed = not loaded.final and engine.fire(step, "close", reason=reason)
            if closed:
                await engine.store.unqueue(loaded.msisdn, loaded.dialog_id)
            # Open or final, what put the dialog in the operators' queue now counts as dealt with.
            marks = [*loaded.flags, *(["undeliverable"] if loaded.state == "undeliverable" else [])]
            loaded.resolved = sorted({*loaded.resolved, *marks})
            step.extra_log.append(operator_record(loaded, "close" if closed else "resolve", operator,
                                                  reason=reason))
            await engine.finish(step)
            return step.dialog

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
