"""Carrying out what a step decided: messages to channels, applications to the backend, with retries."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from bot.backends.assignment import AssignmentBackend
from bot.channels.base import Channel, Outbound, SendError
from bot.clock import Clock
from bot.settings import Settings
from bot.step import Step
from bot.store import Store
from dialogs.conversation import PULL_CHANNELS
from dialogs.delivery import resend_line, worth_resending
from dialogs.model import Dialog, from_iso, iso
from dialogs.records import OutboxItem, SmsItem, SubmitItem
from domain.backoff import jittered

log = logging.getLogger("bot.outbox")


class Outbox:
    """Sends a dialog's outbox in order after each save; what fails waits for the `outbox` timer."""

    def __init__(self, *, store: Store, clock: Clock, settings: Settings, channels: dict[str, Channel],
                 assignment: AssignmentBackend, commit: Callable[..., Awaitable[None]],
                 fire: Callable[..., bool]) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.channels = channels
        self.assignment = assignment
        self._commit = commit
        self._fire = fire

    async def run(self, step: Step, *, last: Callable[[Dialog], bool] | None = None) -> None:
        """Send what the step decided, in order, then save once; failures are retried later with backoff.

        `last(dialog)`, asked after the sends: this save is the step's last, so it lets the phone's lock go too.

        Not a save after each send: the step's decision was saved with its `outbox` timer before the first,
        so if we stop half-way the timer sends it all again under the same client ids, and the gateway and the
        backend drop what they already took.
        """
        dialog = step.dialog
        progressed, worked = True, False
        while progressed:
            progressed = False
            now = self.clock.now()
            for item in list(dialog.outbox):
                not_before = item.get("retry_at") or item.get("hold_until")
                if not_before and from_iso(not_before) > now:
                    continue
                if item["kind"] == "sms":
                    await self._send_message(step, item)
                else:
                    await self._submit(step, item)
                progressed = worked = True
                break
        pending = [from_iso(due) for i in dialog.outbox if (due := i.get("retry_at") or i.get("hold_until"))]
        if pending:
            dialog.timers["outbox"] = iso(min(pending))
        else:
            dialog.timers.pop("outbox", None)
        if worked or dialog.timers != step.saved_timers:
            await self._commit(step, release=last is not None and last(dialog))

    def _retry_or_give_up(self, step: Step, item: OutboxItem, error: SendError,
                          delays: tuple[int, ...]) -> bool:
        """Schedule a retry (True) or drop the item (False), with exponential backoff and jitter."""
        item["attempts"] = int(item.get("attempts", 0)) + 1
        retrying = error.failure.retryable and item["attempts"] <= len(delays)
        step.extra_log.append({"type": "retry" if retrying else "dead_letter", "item": item["kind"],
                               "message_id": item["id"], "channel": item.get("channel"),
                               "attempt": item["attempts"], "error": str(error.failure)})
        if retrying:
            delay = jittered(delays[item["attempts"] - 1], f"{item['id']}:{item['attempts']}")
            item["retry_at"] = iso(self.clock.now() + dt.timedelta(seconds=delay))
            return True
        step.dialog.outbox.remove(item)
        return False

    async def _send_message(self, step: Step, item: SmsItem) -> None:
        dialog = step.dialog
        line = next((e for e in dialog.transcript if e.get("message_id") == item["id"]), None)
        if line is None and item.get("resend_of"):
            if not worth_resending(dialog, item["resend_of"]):
                # Answered, asked anew or got through since the resend was queued: the citizen needs it no more.
                log.info("dialog %s: resend %s no longer needed; dropped", dialog.dialog_id, item["id"])
                dialog.outbox.remove(item)
                return
            line = resend_line(item, iso(self.clock.now()))
            dialog.transcript.append(line)
        channel = self.channels.get(item.get("channel", "sms"), self.channels["sms"])
        try:
            receipt = await channel.send(Outbound(item["id"], dialog.msisdn, item["text"], item.get("msg"),
                                                  item.get("lang")))
        except SendError as error:
            log.warning("dialog %s: send %s failed: %s", dialog.dialog_id, item["id"], error)
            if item.get("channel") in PULL_CHANNELS:
                # A screen whose session is gone cannot be shown later; the next dial shows the question anew.
                dialog.outbox.remove(item)
                if line is not None:
                    line["status"] = "not_shown"
                return
            if not self._retry_or_give_up(step, item, error, self.settings.send_retry_seconds):
                dialog.flag("send_failed")
                if line is not None:
                    line["status"] = "failed"
            return
        dialog.outbox.remove(item)
        if line is not None:
            line.update({"status": "sent", "sent_at": iso(self.clock.now()),
                         "provider_id": receipt.provider_message_id})
            if held := item.get("hold_until"):
                line["held_until"] = held  # it could not leave before (dialogs/answers.py)

    async def _submit(self, step: Step, item: SubmitItem) -> None:
        dialog = step.dialog
        if dialog.application is not None or dialog.state != "submitted":
            dialog.outbox.remove(item)
            return
        assert dialog.consent is not None and dialog.bank_account is not None
        application = {
            "client_id": dialog.dialog_id, "service": dialog.service, "applicant_iin": dialog.recipient_iin,
            "person_iins": dialog.subject_iins, "application_date": dialog.consent["application_date"],
            "iban": dialog.bank_account["iban"],
            "callback_url": f"{self.settings.public_url}/v1/callbacks/decision",
        }
        try:
            application_id = await self.assignment.submit(application)
        except SendError as error:
            log.warning("dialog %s: submission failed: %s", dialog.dialog_id, error)
            if not self._retry_or_give_up(step, item, error, self.settings.submit_retry_seconds):
                dialog.flag("submission_failed")
            return
        dialog.outbox.remove(item)
        step.keys.append((self.store.keys.application(application_id), dialog.dialog_id, None))
        self._fire(step, "accepted", application_id=application_id)
