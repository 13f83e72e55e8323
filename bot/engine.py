"""The engine: lock the phone, load the dialog, decide, save, then send. Every path in goes through here."""

from __future__ import annotations

import datetime as dt
import logging
import random
import secrets
from dataclasses import dataclass
from typing import Any

from bot.backends.assignment import AssignmentBackend
from bot.backends.egov import EgovClient
from bot.channels.base import Channel, DeliveryReport, Inbound, Outbound, SendError
from bot.clock import Clock, almaty_date
from bot.domain.masking import mask_msisdn, scrub
from bot.domain.quiet_hours import quiet_until
from bot.i18n import Translator
from bot.settings import Settings
from bot.store import INBOUND_MEMORY_SECONDS, Store
from dialogs.conversation import PULL_CHANNELS, Context, Conversation
from dialogs.interpret import interpret
from dialogs.model import PUBLIC_STATUS, Dialog, from_iso, iso

log = logging.getLogger("bot.engine")

_DECISION_TRIGGERS = {"assigned": "assign", "refused": "refuse", "extended": "extend"}
_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


@dataclass(frozen=True)
class NewEvent:
    """A validated registry event, ready to become a dialog."""

    event_id: str
    service: str
    msisdn: str
    mobile: bool
    recipient_iin: str
    language: str | None
    subject_iins: list[str]
    event_date: dt.date
    registered_at: dt.datetime


class Step:
    """One change to one dialog, made under its phone's lock: the dialog, its timers as loaded, new keys."""

    def __init__(self, dialog: Dialog, conversation: Conversation) -> None:
        self.dialog = dialog
        self.conversation = conversation
        self.saved_timers = dict(dialog.timers)
        self.extra_keys: list[tuple[str, str, int | None]] = []  # key, value, seconds to keep (None: always)
        self.extra_log: list[dict[str, Any]] = []
        self._seen_history = len(dialog.history)
        self._seen_lines = {self._line_key(i, e): e.get("status") for i, e in enumerate(dialog.transcript)}

    @staticmethod
    def _line_key(index: int, line: dict[str, Any]) -> str:
        return str(line.get("message_id") or index)

    def journal(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Dialog-log records for what changed since the last save: status changes and messages."""
        d = self.dialog
        base = {"at": iso(now), "dialog_id": d.dialog_id, "service": d.service, "msisdn": mask_msisdn(d.msisdn)}
        records: list[dict[str, Any]] = []
        for change in d.history[self._seen_history:]:
            records.append({**base, "type": "status", "from": PUBLIC_STATUS.get(change["from"], change["from"]),
                            "to": PUBLIC_STATUS.get(change["to"], change["to"]), "trigger": change["trigger"]})
        for i, line in enumerate(d.transcript):
            key = self._line_key(i, line)
            if key in self._seen_lines and self._seen_lines[key] == line.get("status"):
                continue
            records.append({**base, "type": "message", "direction": line["direction"], "channel": line["channel"],
                            "message_id": line.get("message_id"), "msg": line.get("msg"),
                            "delivery": line.get("status"), "status": d.status})
            self._seen_lines[key] = line.get("status")
        self._seen_history = len(d.history)
        records.extend({**base, **extra} for extra in self.extra_log)
        self.extra_log = []
        return records


class Engine:
    """Turns events, replies, callbacks and timers into dialog steps, and carries out what they decide."""

    def __init__(self, *, store: Store, clock: Clock, settings: Settings, translator: Translator,
                 sms: Channel, egov: EgovClient, assignment: AssignmentBackend,
                 channels: dict[str, Channel] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.translator = translator
        self.sms = sms
        self.channels: dict[str, Channel] = {"sms": sms, **(channels or {})}
        self.egov = egov
        self.assignment = assignment

    # ---- steps -----------------------------------------------------------------------------------

    def _step(self, dialog: Dialog, *, proactive: bool, channel: str = "sms") -> Step:
        ctx = Context(now=self.clock.now(), settings=self.settings, render=self.translator.render,
                      proactive=proactive, channel=channel)
        return Step(dialog, Conversation(dialog, ctx))

    async def _commit(self, step: Step) -> None:
        await self.store.save(step.dialog, step.saved_timers, step.extra_keys, step.journal(self.clock.now()))
        step.saved_timers = dict(step.dialog.timers)
        step.extra_keys = []

    def _fire(self, step: Step, trigger: str, **kwargs: Any) -> bool:
        before = step.dialog.state
        done = step.conversation.fire(trigger, **kwargs)
        if step.dialog.state != before:
            log.info("dialog %s %s: %s -> %s (%s)", step.dialog.dialog_id, step.dialog.service, before,
                     step.dialog.state, trigger + (f"; {step.dialog.close_reason}" if step.dialog.close_reason
                                                   and step.dialog.final else ""))
        return done

    async def _finish(self, step: Step) -> None:
        """Save the decision, carry out its effects, then hand the phone on if the dialog let it go."""
        await self._commit(step)
        await self._run_outbox(step)
        await self._release_phone(step.dialog)

    # ---- intake ----------------------------------------------------------------------------------

    async def intake(self, event: NewEvent) -> tuple[bool, Dialog]:
        """Create the dialog for a new event (False and the existing dialog when the event_id is known)."""
        now = self.clock.now()
        dialog = Dialog(
            dialog_id=new_dialog_id(), event_id=event.event_id, service=event.service,
            msisdn=event.msisdn, recipient_iin=event.recipient_iin, subject_iins=list(event.subject_iins),
            event_date=event.event_date.isoformat(), registered_at=iso(event.registered_at),
            created_at=iso(now), language=event.language, mobile=event.mobile,
        )
        # Armed before the first save: if we stop right after it, the timer starts the dialog later.
        dialog.timers["start"] = iso(now)
        keys = [self.store.keys.subject(event.service, iin) for iin in event.subject_iins] if event.mobile else []
        created, known, _ = await self.store.create(dialog, keys)
        if not created:
            existing = await self.store.load(known or "")
            if existing is None:
                raise RuntimeError("event key points at a missing dialog")
            return False, existing
        log.info("dialog %s created for event %s (%s) to %s", dialog.dialog_id, event.event_id, event.service,
                 mask_msisdn(event.msisdn))
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog.dialog_id)
            assert loaded is not None
            step = self._step(loaded, proactive=True)
            await self._start(step)
            await self._finish(step)
            return True, step.dialog

    async def _start(self, step: Step) -> None:
        """Start a new or queued dialog if its phone is free and it is not quiet hours; else hold it."""
        dialog = step.dialog
        dialog.timers.pop("start", None)
        if dialog.state not in ("new", "queued"):
            return
        if not dialog.mobile:
            self._fire(step, "mark_undeliverable")
            return
        holder = await self._subject_holder(dialog)
        if holder is not None:
            self._fire(step, "mark_duplicate", original=holder)
            return
        active = await self.store.phone_active(dialog.msisdn)
        if active and active != dialog.dialog_id and await self._holds_phone(active):
            self._fire(step, "hold")
            await self.store.enqueue(dialog.msisdn, dialog.dialog_id)
            return
        await self.store.set_phone_active(dialog.msisdn, dialog.dialog_id)
        now = self.clock.now()
        until = quiet_until(now, self.settings.quiet_start, self.settings.quiet_end)
        if until is not None:
            self._fire(step, "hold", until=until)
            return
        try:
            facts = await self.egov.person(dialog.recipient_iin)
        except SendError as error:
            log.warning("dialog %s: e-government lookup failed (%s); retrying", dialog.dialog_id, error)
            self._fire(step, "hold", until=now + dt.timedelta(seconds=self.settings.submit_retry_seconds[0]))
            return
        self._fire(step, "start", facts=facts)

    async def _subject_holder(self, dialog: Dialog) -> str | None:
        for iin in dialog.subject_iins:
            owner = await self.store.lookup(self.store.keys.subject(dialog.service, iin))
            if owner is not None and owner != dialog.dialog_id:
                return owner
        return None

    async def _holds_phone(self, dialog_id: str) -> bool:
        other = await self.store.load(dialog_id)
        return other is not None and (other.awaiting or other.state in ("new", "queued"))

    async def _release_phone(self, dialog: Dialog) -> None:
        """A dialog that no longer waits for an answer frees its phone for the next queued dialog."""
        if dialog.awaiting or dialog.state in ("new", "queued"):
            return
        if await self.store.phone_active(dialog.msisdn) != dialog.dialog_id:
            return
        await self.store.set_phone_active(dialog.msisdn, None)
        while (next_id := await self.store.dequeue(dialog.msisdn)) is not None:
            queued = await self.store.load(next_id)
            if queued is None or queued.state not in ("new", "queued"):
                continue
            step = self._step(queued, proactive=True)
            await self._start(step)
            await self._finish(step)  # may release again and start the one after
            return

    # ---- corrections -------------------------------------------------------------------------------

    async def cancel(self, event_id: str, cancels: str) -> tuple[str, Dialog | None]:
        """Withdraw the dialog of event `cancels`: ('cancelled'|'already'|'unknown', dialog)."""
        target = await self.store.event_dialog(cancels)
        dialog = await self.store.load(target) if target else None
        if dialog is None:
            return "unknown", None
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog.dialog_id)
            assert loaded is not None
            await self.store.claim_event(event_id, loaded.dialog_id)
            step = self._step(loaded, proactive=True)
            if loaded.state == "cancelled" or not self._fire(step, "cancel", by=event_id):
                return "already", loaded
            await self.store.unqueue(loaded.msisdn, loaded.dialog_id)
            await self.store.forget_subjects(
                loaded, [self.store.keys.subject(loaded.service, iin) for iin in loaded.subject_iins])
            await self._finish(step)
            return "cancelled", step.dialog

    # ---- replies ----------------------------------------------------------------------------------------

    async def inbound(self, message: Inbound) -> None:
        """A citizen's message: applied to the one dialog waiting on that phone, or answered politely."""
        seen_key = self.store.keys.inbound(f"{message.channel}:{message.provider_message_id}")
        async with self.store.phone_lock(message.msisdn):
            # Checked under the lock and marked in the same transaction as the step it caused: a gateway's
            # retry after we stopped half-way is processed again, a retry after we finished is not.
            if await self.store.lookup(seen_key) is not None:
                log.info("inbound %s seen before; ignored", message.provider_message_id)
                return
            active = await self.store.phone_active(message.msisdn)
            dialog = await self.store.load(active) if active else None
            if dialog is not None and dialog.awaiting:
                await self._reply(dialog, message, seen_key)
            else:
                await self._reply_without_dialog(message, seen_key)

    async def repeat_question(self, msisdn: str, channel: str, *, note: dict[str, Any] | None = None) -> Dialog | None:
        """Say again what the phone's open dialog waits for, on `channel` (a USSD session, an operator's resend).

        Returns the dialog, or None when nothing waits for this phone's answer.
        """
        async with self.store.phone_lock(msisdn):
            active = await self.store.phone_active(msisdn)
            dialog = await self.store.load(active) if active else None
            if dialog is None or not dialog.awaiting:
                return None
            dialog.last_channel = channel
            step = self._step(dialog, proactive=False, channel=channel)
            if note:
                step.extra_log.append(note)
            step.conversation.repeat_question()
            await self._finish(step)
            return step.dialog

    def _record_inbound(self, dialog: Dialog, message: Inbound) -> None:
        dialog.transcript.append({"at": iso(self.clock.now()), "direction": "in", "channel": message.channel,
                                  "text": message.text, "message_id": message.provider_message_id})

    async def _reply(self, dialog: Dialog, message: Inbound, seen_key: str) -> None:
        step = self._step(dialog, proactive=False, channel=message.channel)
        step.extra_keys.append((seen_key, dialog.dialog_id, INBOUND_MEMORY_SECONDS))
        self._record_inbound(dialog, message)
        dialog.last_channel = message.channel
        if dialog.expires_at and self.clock.now() > from_iso(dialog.expires_at) and self._fire(step, "expire"):
            # The expiry timer had not fired yet; the answer came too late all the same.
            step.conversation.ctx.proactive = False
        else:
            trigger, kwargs = interpret(dialog.state, message.text)
            self._fire(step, trigger, **kwargs)
            log.info("dialog %s: reply read as %s", dialog.dialog_id, trigger)
        await self._finish(step)

    async def _reply_without_dialog(self, message: Inbound, seen_key: str) -> None:
        now = self.clock.now()
        last = await self._last_offer(message.msisdn)
        if last is not None and last.state == "opted_out":
            log.info("reply from an opted-out phone %s: silence", mask_msisdn(message.msisdn))
            await self.store.mark_seen(seen_key)
            return
        if last is not None:
            step = self._step(last, proactive=False, channel=message.channel)
            step.extra_keys.append((seen_key, last.dialog_id, INBOUND_MEMORY_SECONDS))
            self._record_inbound(last, message)
            if last.state == "expired":
                if await self.store.once_per_day("lapsed", message.msisdn, almaty_date(now)):
                    step.conversation.say("offer.lapsed")
            elif await self.store.once_per_day("info", message.msisdn, almaty_date(now)):
                step.conversation.say("nodialog.info")
            await self._finish(step)
            return
        await self.store.mark_seen(seen_key)
        if not await self.store.once_per_day("info", message.msisdn, almaty_date(now)):
            return
        lang = "kk" if _KAZAKH_LETTERS & set(message.text) or not _has_cyrillic(message.text) else "ru"
        text = self.translator.render("nodialog.info", lang)
        client_id = f"info-{message.msisdn.lstrip('+')}-{almaty_date(now).isoformat()}"
        try:
            await self.sms.send(Outbound(client_id, message.msisdn, text))
            log.info("no dialog for %s: information SMS sent", mask_msisdn(message.msisdn))
        except SendError as error:
            log.warning("no dialog for %s: information SMS failed (%s)", mask_msisdn(message.msisdn), error)

    async def _last_offer(self, msisdn: str) -> Dialog | None:
        """The newest dialog on this phone that ever wrote to it."""
        ids = await self.store.phone_dialog_ids(msisdn)
        for dialog in reversed(await self.store.load_many(ids)):
            if any(e["direction"] == "out" for e in dialog.transcript):
                return dialog
        return None

    async def delivery_report(self, report: DeliveryReport) -> None:
        """Record a delivery report on the message's transcript line."""
        dialog_id = await self.store.lookup(self.store.keys.message(report.provider_message_id))
        dialog = await self.store.load(dialog_id) if dialog_id else None
        if dialog is None:
            return
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog.dialog_id)
            assert loaded is not None
            step = self._step(loaded, proactive=True)
            for entry in loaded.transcript:
                if entry.get("provider_id") == report.provider_message_id:
                    entry["status"] = "delivered" if report.delivered else "failed"
            if not report.delivered:
                loaded.flag("delivery_failed")
            await self._commit(step)

    # ---- decisions --------------------------------------------------------------------------------------

    async def decision(self, payload: dict[str, Any]) -> tuple[str, Dialog | None]:
        """A backend decision: ('applied'|'already'|'unknown', dialog). A repeated callback has one effect."""
        dialog_id = await self.store.lookup(self.store.keys.application(payload["application_id"]))
        dialog = await self.store.load(dialog_id) if dialog_id else None
        if dialog is None and isinstance(payload.get("client_id"), str):
            dialog = await self.store.load(payload["client_id"])
        if dialog is None:
            return "unknown", None
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog.dialog_id)
            assert loaded is not None
            step = self._step(loaded, proactive=True)
            if loaded.state == "submitted" and loaded.application is None:
                # The callback overtook our record of the submission (we stopped in between).
                self._fire(step, "accepted", application_id=payload["application_id"])
                step.extra_keys.append((self.store.keys.application(payload["application_id"]), loaded.dialog_id, None))
            trigger = _DECISION_TRIGGERS[payload["outcome"]]
            extended_before = (loaded.application or {}).get("extended")
            if not self._fire(step, trigger, decision=payload) or (trigger == "extend" and extended_before):
                return "already", loaded
            await self._finish(step)
            return "applied", step.dialog

    # ---- timers ------------------------------------------------------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        return await self.store.next_timer()

    async def fire_due(self, now: dt.datetime) -> None:
        """Fire every timer due at `now` (the simulated clock calls this at each timer's own instant)."""
        due = await self.store.due_timers(now)
        # Messages held for the same instant go out before held dialogs start (stable: otherwise earliest
        # first), so that at 09:00 a phone hears that its old offer ended before it hears the next one.
        for dialog_id, kind in sorted(due, key=lambda timer: timer[1] == "start"):
            await self.fire_timer(dialog_id, kind)

    async def fire_timer(self, dialog_id: str, kind: str) -> None:
        dialog = await self.store.load(dialog_id)
        if dialog is None:
            await self.store.drop_timer(dialog_id, kind)
            return
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog_id)
            assert loaded is not None
            due = loaded.timers.get(kind)
            now = self.clock.now()
            if due is None:
                await self.store.drop_timer(dialog_id, kind)
                return
            if from_iso(due) > now:
                # The sorted set disagrees with the dialog (it cannot after an atomic save, but a hand edit
                # could): rewrite the score rather than let the clock spin on a timer that will not fire.
                await self.store.save(loaded, {})
                return
            step = self._step(loaded, proactive=True)
            del loaded.timers[kind]
            step.extra_log.append({"type": "timer", "kind": kind, "due": due,
                                   "lag_seconds": round((now - from_iso(due)).total_seconds(), 3)})
            if kind == "start":
                await self._start(step)
            elif kind in ("remind", "expire", "flag_no_account", "overdue"):
                self._fire(step, kind)
            # "outbox": nothing to decide; held or retried messages go out in _finish.
            await self._finish(step)

    # ---- effects -----------------------------------------------------------------------------------------

    async def _run_outbox(self, step: Step) -> None:
        """Send what the step decided, in order; failures are retried later with backoff."""
        dialog = step.dialog
        progressed = True
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
                progressed = True
                await self._commit(step)
                break
        pending = [from_iso(i.get("retry_at") or i["hold_until"]) for i in dialog.outbox
                   if i.get("retry_at") or i.get("hold_until")]
        if pending:
            dialog.timers["outbox"] = iso(min(pending))
        else:
            dialog.timers.pop("outbox", None)
        if dialog.timers != step.saved_timers:
            await self._commit(step)

    def _retry_or_give_up(self, step: Step, item: dict[str, Any], error: SendError,
                          delays: tuple[int, ...]) -> bool:
        """Schedule a retry (True) or drop the item (False), with exponential backoff and jitter."""
        item["attempts"] = int(item.get("attempts", 0)) + 1
        retrying = error.failure.retryable and item["attempts"] <= len(delays)
        step.extra_log.append({"type": "retry" if retrying else "dead_letter", "item": item["kind"],
                               "message_id": item["id"], "channel": item.get("channel"),
                               "attempt": item["attempts"], "error": str(error.failure)})
        if retrying:
            delay = delays[item["attempts"] - 1] * (1 + random.uniform(0, 0.2))
            item["retry_at"] = iso(self.clock.now() + dt.timedelta(seconds=delay))
            return True
        step.dialog.outbox.remove(item)
        return False

    async def _send_message(self, step: Step, item: dict[str, Any]) -> None:
        dialog = step.dialog
        line = next((e for e in dialog.transcript if e.get("message_id") == item["id"]), None)
        channel = self.channels.get(item.get("channel", "sms"), self.sms)
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
            line.update(status="sent", sent_at=iso(self.clock.now()), provider_id=receipt.provider_message_id)
        step.extra_keys.append((self.store.keys.message(receipt.provider_message_id), dialog.dialog_id, None))

    async def _submit(self, step: Step, item: dict[str, Any]) -> None:
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
        step.extra_keys.append((self.store.keys.application(application_id), dialog.dialog_id, None))
        self._fire(step, "accepted", application_id=application_id)

    # ---- operators ---------------------------------------------------------------------------------------

    async def resend(self, dialog_id: str, operator: str) -> Dialog | None:
        """An operator resends the open question; None when the dialog waits for no answer."""
        dialog = await self.store.load(dialog_id)
        if dialog is None:
            return None
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog_id)
            if loaded is None or not loaded.awaiting:
                return None
            # Proactive: held for quiet hours like any SMS the citizen did not just ask for.
            step = self._step(loaded, proactive=True, channel=loaded.last_channel)
            step.extra_log.append(_operator_record(loaded, "resend", operator))
            step.conversation.repeat_question()
            await self._finish(step)
            return step.dialog

    async def close(self, dialog_id: str, reason: str, operator: str) -> Dialog | None:
        """An operator closes a dialog with a reason (an open one goes to `closed`); None for an unknown dialog."""
        reason = scrub(reason)  # shown to every operator and kept in the log: no personal data in it
        dialog = await self.store.load(dialog_id)
        if dialog is None:
            return None
        async with self.store.phone_lock(dialog.msisdn):
            loaded = await self.store.load(dialog_id)
            assert loaded is not None
            step = self._step(loaded, proactive=True)
            closed = not loaded.final and self._fire(step, "close", reason=reason)
            if closed:
                await self.store.unqueue(loaded.msisdn, loaded.dialog_id)
            # Open or final, what put the dialog in the operators' queue now counts as dealt with.
            marks = [*loaded.flags, *(["undeliverable"] if loaded.state == "undeliverable" else [])]
            loaded.resolved = sorted({*loaded.resolved, *marks})
            step.extra_log.append(_operator_record(loaded, "close" if closed else "resolve", operator,
                                                   reason=reason))
            await self._finish(step)
            return step.dialog

    async def add_note(self, dialog_id: str, text: str, operator: str) -> Dialog | None:
        """An operator's note, kept in the dialog log (personal data in it masked); None for an unknown dialog."""
        return await self._log_operator(dialog_id, "note", operator, text=scrub(text))

    async def reveal(self, dialog_id: str, operator: str) -> Dialog | None:
        """The dialog with its personal data, for an operator who asked for it; the look is logged."""
        return await self._log_operator(dialog_id, "reveal", operator)

    async def _log_operator(self, dialog_id: str, action: str, operator: str, **details: Any) -> Dialog | None:
        dialog = await self.store.load(dialog_id)
        if dialog is None:
            return None
        record = {"at": iso(self.clock.now()), "dialog_id": dialog.dialog_id, "service": dialog.service,
                  "msisdn": mask_msisdn(dialog.msisdn), **_operator_record(dialog, action, operator, **details)}
        await self.store.append_log(dialog_id, [record])
        return dialog


def _operator_record(dialog: Dialog, action: str, operator: str, **details: Any) -> dict[str, Any]:
    """A dialog-log record of what an operator did, by name."""
    return {"type": "operator", "action": action, "operator": operator, "status": dialog.status, **details}


def new_dialog_id() -> str:
    """A random id in groups of four, so no run of digits in it can be mistaken for an IIN or a phone."""
    token = secrets.token_hex(8)
    return "d_" + "-".join(token[i:i + 4] for i in range(0, 16, 4))


def _has_cyrillic(text: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in text)
