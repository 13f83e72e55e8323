"""The engine: every way in is a command (bot/commands.py) that `Engine.run` runs: take the phone's lock with what
the step reads (one round trip), decide (dialogs/), commit fenced by the lock's token (bot/fencing.py), then send
what the decision queued and commit the sends, which lets the lock go."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any, assert_never

from bot import compaction
from bot.backends.assignment import AssignmentBackend
from bot.backends.egov import EgovClient
from bot.channels.base import Channel, DeliveryReport, Inbound, SendError
from bot.clock import Clock, almaty_date
from bot.commands import (
    BackendDecision,
    Cancel,
    Close,
    Command,
    Intake,
    NewEvent,
    Outcome,
    Repeat,
    Reply,
    Report,
    TimerDue,
)
from bot.fencing import Fence, LockLost
from bot.i18n import Translator
from bot.ledger import acts as ledger_acts
from bot.notices import KIND as NOTICE
from bot.notices import Later, Notice, flood_ack, information
from bot.operators import OperatorDesk, operator_record
from bot.outbox import Outbox
from bot.settings import Settings
from bot.step import Step
from bot.store import INBOUND_MEMORY_SECONDS, Store, index_marks
from dialogs.answers import Rules, Taken, Verdict, judge, received_instant
from dialogs.conversation import Context, Conversation, DialogRules
from dialogs.model import Dialog, dialog_id_of, from_iso, iso
from dialogs.records import TranscriptLine
from dialogs.reply import decide_reply, record_inbound, set_aside
from domain.masking import mask_msisdn, scrub
from domain.quiet_hours import quiet_until

log = logging.getLogger("bot.engine")

_DECISION_TRIGGERS = {"assigned": "assign", "refused": "refuse", "extended": "extend"}
_KAZAKH_LETTERS = frozenset("әғқңөұүһіӘҒҚҢӨҰҮҺІ")


class Engine:
    """Turns events, replies, callbacks and timers into dialog steps, and carries out what they decide."""

    def __init__(self, *, store: Store, clock: Clock, settings: Settings, translator: Translator,
                 sms: Channel, egov: EgovClient, assignment: AssignmentBackend, later: Later,
                 channels: dict[str, Channel] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.rules = DialogRules.of(settings)  # what decisions may read of the settings: no secret among them
        self.translator = translator
        self.sms = sms
        self.channels: dict[str, Channel] = {"sms": sms, **(channels or {})}
        self.egov = egov
        self.assignment = assignment
        self.outbox = Outbox(store=store, clock=clock, settings=settings, channels=self.channels,
                             assignment=assignment, commit=self.commit, fire=self.fire)
        self.operators = OperatorDesk(self)
        # Where work a step decides but does not carry out itself goes (app.py: a job on the work queue, with its
        # retries): the notices to a phone that no dialog carries (bot/notices.py).
        self.later = later

    # ---- the one way in ------------------------------------------------------------------------------

    async def run(self, command: Command) -> Outcome:
        """Run one command (bot/commands.py). A commit that found the phone's lock lost wrote nothing (bot/fencing.py):
        the command is run once more from the start, on what it finds then; lost again, LockLost is raised (a
        LockError: the job stays queued, a gateway's request is answered 503)."""
        try:
            return await self._dispatch(command)
        except LockLost:
            log.warning("%s: the phone's lock was lost before its commit; run again from the start",
                        type(command).__name__)
        return await self._dispatch(command)

    async def _dispatch(self, command: Command) -> Outcome:
        match command:
            case Intake(event, dialog_id):
                created, dialog = await self.intake(event, dialog_id)
                return Outcome("created" if created else "known", dialog)
            case Cancel(event_id, cancels, registry):
                word, dialog = await self.cancel(event_id, cancels, registry)
                return Outcome(word, dialog)
            case Reply(message):
                return Outcome(verdict=await self.inbound(message))
            case Report(report):
                await self.delivery_report(report)
                return Outcome()
            case BackendDecision(payload):
                word, dialog = await self.decision(payload)
                return Outcome(word, dialog)
            case TimerDue(dialog_id, kind):
                await self.fire_timer(dialog_id, kind)
                return Outcome()
            case Repeat(msisdn, channel, note, proactive):
                return Outcome(dialog=await self.repeat_question(msisdn, channel, note=note, proactive=proactive))
            case Close(dialog_id, reason, operator):
                return Outcome(dialog=await self.close(dialog_id, reason, operator))
        assert_never(command)

    # ---- steps -----------------------------------------------------------------------------------

    def step(self, dialog: Dialog, *, fence: Fence, proactive: bool, channel: str = "sms") -> Step:
        ctx = Context(now=self.clock.now(), rules=self.rules, render=self.translator.render,
                      proactive=proactive, channel=channel)
        return Step(dialog, Conversation(dialog, ctx), fence)

    async def commit(self, step: Step, *, release: bool = False) -> None:
        """Save the step, fenced by its lock; `release` lets the lock go in the same script (its last commit)."""
        _keep_outbox_armed(step.dialog, self.clock.now())
        compaction.arm(step.dialog, self.clock.now(), self.settings.compact_closed_after_days)
        # A consent, refusal, opt-out or account confirmation is saved with its ledger record, in one transaction.
        evidence = ledger_acts(step.dialog, step.new_history(), key=self.settings.ledger_key,
                               extra_log=step.extra_log)
        records = step.journal(self.clock.now())
        step.bound_transcript(self.settings.transcript_max_lines)  # what it drops is in `records` or logged before
        await self.store.save(step.dialog, step.saved_timers, step.keys, records, None,
                              step.saved_marks, evidence, fence=step.fence, release=release)
        step.saved_timers = dict(step.dialog.timers)
        step.saved_marks = index_marks(step.dialog)
        step.keys = []

    def fire(self, step: Step, trigger: str, **kwargs: Any) -> bool:
        before = step.dialog.state
        done = step.conversation.fire(trigger, **kwargs)
        self._log_change(step, before, trigger)
        return done

    @staticmethod
    def _log_change(step: Step, before: str, trigger: str) -> None:
        if step.dialog.state != before:
            log.info("dialog %s %s: %s -> %s (%s)", step.dialog.dialog_id, step.dialog.service, before,
                     step.dialog.state, trigger + (f"; {step.dialog.close_reason}" if step.dialog.close_reason
                                                   and step.dialog.final else ""))

    async def finish(self, step: Step) -> None:
        """Save the decision, carry out its effects, then hand the phone on if the dialog let it go."""
        await self.commit(step)
        # Its sends' commit is the step's last when the dialog keeps the phone: it lets the lock go too.
        await self.outbox.run(step, last=_keeps_phone)
        await self._release_phone(step)

    # ---- intake ----------------------------------------------------------------------------------

    async def intake(self, event: NewEvent, dialog_id: str | None = None) -> tuple[bool, Dialog | None]:
        """Create the dialog for a new event (False and the existing dialog when the event_id is known).

        `dialog_id` is the id chosen when the event was accepted, so that doing this again after a crash
        finishes the same dialog. The existing dialog is None only while another post of the same event_id,
        to another phone, is still being created.
        """
        now = self.clock.now()
        dialog = Dialog(
            dialog_id=dialog_id or self.store.new_dialog_id(event.msisdn), event_id=event.event_id,
            service=event.service,
            msisdn=event.msisdn, recipient_iin=event.recipient_iin, subject_iins=list(event.subject_iins),
            event_date=event.event_date.isoformat(), registered_at=iso(event.registered_at),
            created_at=iso(now), language=event.language, mobile=event.mobile, registry=event.registry,
        )
        # Armed before the first save: if we stop right after it, the timer starts the dialog later.
        dialog.timers["start"] = iso(now)
        async with self.store.phone_lock(dialog.msisdn) as lock:
            created, known, _ = await self.store.create(dialog, self._subject_keys(dialog))
            if not created:
                return False, await self.store.load(known or dialog.dialog_id)
            log.info("dialog %s created for event %s (%s) to %s", dialog.dialog_id, event.event_id, event.service,
                     mask_msisdn(event.msisdn))
            loaded = await self.store.load(dialog.dialog_id)
            assert loaded is not None
            step = self.step(loaded, fence=lock.fence, proactive=True)
            await self._start(step)
            await self.finish(step)
            return True, step.dialog

    async def _start(self, step: Step) -> None:
        """Start a new or queued dialog if its phone is free and it is not quiet hours; else hold it."""
        dialog = step.dialog
        dialog.timers.pop("start", None)
        if dialog.state not in ("new", "queued"):
            return
        if not dialog.mobile:
            self.fire(step, "mark_undeliverable")
            return
        holder = await self.store.claim_subjects(dialog.dialog_id, self._subject_keys(dialog))
        if holder is not None:
            self.fire(step, "mark_duplicate", original=holder)
            return
        active = await self.store.phone_active(dialog.msisdn)
        if active and active != dialog.dialog_id and await self._holds_phone(active):
            self.fire(step, "hold")
            await self.store.enqueue(dialog.msisdn, dialog.dialog_id)
            return
        await self.store.set_phone_active(dialog.msisdn, dialog.dialog_id)
        now = self.clock.now()
        until = quiet_until(now, self.settings.quiet_start, self.settings.quiet_end)
        if until is not None:
            self.fire(step, "hold", until=until)
            return
        try:
            facts = await self.egov.person(dialog.recipient_iin)
        except SendError as error:
            log.warning("dialog %s: e-government lookup failed (%s); retrying", dialog.dialog_id, error)
            self.fire(step, "hold", until=now + dt.timedelta(seconds=self.settings.submit_retry_seconds[0]))
            return
        self.fire(step, "start", facts=facts)

    def _subject_keys(self, dialog: Dialog) -> list[str]:
        """The keys that make a second event for the same child (or person) a duplicate of this dialog."""
        if not dialog.mobile:
            return []
        return [self.store.keys.subject(dialog.service, iin) for iin in dialog.subject_iins]

    async def _holds_phone(self, dialog_id: str) -> bool:
        other = await self.store.load(dialog_id)
        return other is not None and (other.awaiting or other.state in ("new", "queued"))

    async def _release_phone(self, done: Step) -> None:
        """A dialog that no longer waits for an answer frees its phone for the next queued dialog."""
        dialog = done.dialog
        if _keeps_phone(dialog):
            return
        # Fenced, in one script: the slot cleared if it is this dialog's, the next queued id popped, and the lock
        # let go when there is none to start.
        next_id = await self.store.hand_on(done.fence, dialog.msisdn, dialog.dialog_id)
        while next_id is not None:
            queued = await self.store.load(next_id)
            if queued is None or queued.state not in ("new", "queued"):
                next_id = await self.store.dequeue(dialog.msisdn)
                continue
            step = self.step(queued, fence=done.fence, proactive=True)
            await self._start(step)
            await self.finish(step)  # may release again and start the one after
            return

    # ---- corrections -------------------------------------------------------------------------------

    async def cancel(self, event_id: str, cancels: str, registry: str | None = None) -> tuple[str, Dialog | None]:
        """Withdraw the dialog of event `cancels`: ('cancelled'|'already'|'unknown'|'other_registry', dialog).

        With a secret per registry, only the registry that sent the event may cancel it (dialogs made before
        that, which name none, may be cancelled by any).
        """
        target = await self.store.event_dialog(cancels)
        dialog = await self.store.load(target) if target else None
        if dialog is None:
            return "unknown", None
        async with self.store.locked_dialog(dialog.msisdn, dialog.dialog_id) as (lock, loaded):
            assert loaded is not None
            if loaded.registry is not None and registry != loaded.registry:
                log.warning("cancel %s of dialog %s from registry %s, not %s: refused", event_id,
                            loaded.dialog_id, registry, loaded.registry)
                return "other_registry", loaded
            await self.store.claim_event(event_id, loaded.dialog_id)
            step = self.step(loaded, fence=lock.fence, proactive=True)
            if loaded.state == "cancelled" or not self.fire(step, "cancel", by=event_id):
                return "already", loaded
            await self.store.unqueue(loaded.msisdn, loaded.dialog_id)
            await self.store.forget_subjects(loaded, self._subject_keys(loaded))
            await self.finish(step)
            return "cancelled", step.dialog

    async def close(self, dialog_id: str, reason: str, operator: str) -> Dialog | None:
        """An operator closes a dialog with a reason (an open one goes to `closed`); None for an unknown dialog.

        Open or final, what put the dialog in the operators' queue counts as dealt with afterwards."""
        reason = scrub(reason)  # shown to every operator and kept in the log: no personal data in it
        dialog = await self.store.load(dialog_id)
        if dialog is None:
            return None
        async with self.store.locked_dialog(dialog.msisdn, dialog_id) as (lock, loaded):
            assert loaded is not None
            step = self.step(loaded, fence=lock.fence, proactive=True)
            closed = not loaded.final and self.fire(step, "close", reason=reason)
            if closed:
                await self.store.unqueue(loaded.msisdn, loaded.dialog_id)
            marks = [*loaded.flags, *(["undeliverable"] if loaded.state == "undeliverable" else [])]
            loaded.resolved = sorted({*loaded.resolved, *marks})
            step.extra_log.append(operator_record(loaded, "close" if closed else "resolve", operator, reason=reason))
            await self.finish(step)
            return step.dialog

    # ---- replies ----------------------------------------------------------------------------------------

    async def inbound(self, message: Inbound) -> Verdict | None:
        """A citizen's message: applied to the one dialog waiting on that phone, or answered politely.

        Returns what the message was to that dialog (dialogs/answers.py), None when it never reached one (a
        flood, a message seen before).
        """
        message_key = f"{message.channel}:{message.provider_message_id}"
        count, new = await self.store.count_inbound(message.msisdn, self.clock.now(), message_key)
        if count > self.settings.inbound_per_minute:
            if new and count == self.settings.inbound_per_minute + 1:
                await self._acknowledge_flood(message)
            return None  # a flood is acknowledged once and then ignored: it never reaches a dialog
        seen_key = self.store.keys.inbound(message.msisdn, message_key)
        # The lock and everything the reply is decided on, in one round trip.
        async with self.store.reply_snapshot(message.msisdn, seen_key) as (lock, snapshot):
            # Checked under the lock and marked in the same transaction as the step it caused: a gateway's
            # retry after we stopped half-way is processed again, a retry after we finished is not.
            if snapshot.seen:
                log.info("inbound %s seen before; ignored", message.provider_message_id)
                return None
            dialog = snapshot.dialog
            waiting = dialog if dialog is not None and dialog.awaiting else None
            taken = self._taken(snapshot.taken)
            verdict = judge(waiting, channel=message.channel, text=message.text, question=message.question,
                            received=received_instant(message.received_at, self.clock.now()), taken=taken,
                            rules=self._answer_rules())
            if waiting is not None:
                await self._reply(waiting, message, seen_key, verdict, taken, lock.fence)
                return verdict
            notice = await self._reply_without_dialog(message, seen_key, verdict, taken, lock.fence)
        if notice is not None:
            await self._notify(notice)  # once the lock is let go: the notice's job needs none, and is waited for
        return verdict

    def _answer_rules(self) -> Rules:
        return Rules(dt.timedelta(seconds=self.settings.duplicate_window_seconds),
                     dt.timedelta(seconds=self.settings.reply_clock_skew_seconds))

    def _taken(self, raw: str | None) -> Taken | None:
        """The message last taken as an answer from this phone, while the duplicate rule may still need it."""
        if raw is None or self.settings.duplicate_window_seconds <= 0:
            return None
        try:
            return Taken.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: the rule starts afresh

    def _remember_taken(self, step: Step, msisdn: str, taken: Taken) -> None:
        """Kept beside the phone, in the step's transaction, so a copy reaching the next dialog is known too."""
        keep = max(3600, 2 * self.settings.duplicate_window_seconds)  # the stored instant decides; this only tidies
        step.keys.append((self.store.keys.taken(msisdn), json.dumps(taken.to_json()), keep))

    def _set_aside(self, step: Step, message: Inbound, verdict: Verdict, taken: Taken | None) -> None:
        """A message that is no answer, on the transcript as what it is (dialogs/reply.py `set_aside`)."""
        set_aside(step.dialog, message, verdict, taken, step.conversation.ctx.now)
        log.info("dialog %s: message %s set aside as %s", step.dialog.dialog_id, message.provider_message_id,
                 verdict)

    async def _acknowledge_flood(self, message: Inbound) -> None:
        """Tell the phone once that it sends too fast, and flag its dialog for an operator."""
        log.warning("flood from %s: acknowledged once, further messages this minute ignored",
                    mask_msisdn(message.msisdn))
        async with self.store.reply_snapshot(message.msisdn) as (lock, snapshot):
            dialog = snapshot.dialog
            if dialog is not None:
                step = self.step(dialog, fence=lock.fence, proactive=False, channel=message.channel)
                dialog.flag("flooding")
                step.conversation.say("flood.ack")
                await self.finish(step)
                return
        await self._notify(flood_ack(message.msisdn, _guess_language(message.text), self.clock.now()))

    async def _notify(self, notice: Notice) -> None:
        """Hand a notice to the work queue: sent by a `notice` job (bot/work.py), tried again while the gateway
        refuses it. Durable once this returns."""
        await self.later(NOTICE, notice.payload())

    async def repeat_question(self, msisdn: str, channel: str, *, note: dict[str, Any] | None = None,
                              proactive: bool = False) -> Dialog | None:
        """Say again what the phone's open dialog waits for, on `channel` (a USSD session, an operator's resend).

        Returns the dialog, or None when nothing waits for this phone's answer. `proactive` when nobody on
        the phone asked (an operator's resend): then quiet hours hold it.
        """
        async with self.store.reply_snapshot(msisdn) as (lock, snapshot):
            dialog = snapshot.dialog
            if dialog is None or not dialog.awaiting:
                return None
            dialog.last_channel = channel
            step = self.step(dialog, fence=lock.fence, proactive=proactive, channel=channel)
            if note:
                step.extra_log.append(note)
            step.conversation.repeat_question()
            await self.finish(step)
            return step.dialog

    def _record_inbound(self, dialog: Dialog, message: Inbound) -> None:
        record_inbound(dialog, message, self.clock.now())

    async def _reply(self, dialog: Dialog, message: Inbound, seen_key: str, verdict: Verdict,
                     taken: Taken | None, fence: Fence) -> None:
        """Decide (dialogs/reply.py, no I/O), commit fenced by the lock, then carry out what was decided."""
        step = self.step(dialog, fence=fence, proactive=False, channel=message.channel)
        step.keys.append((seen_key, dialog.dialog_id, INBOUND_MEMORY_SECONDS))
        before = dialog.state
        decision = decide_reply(step.conversation, message, verdict, taken)
        if not decision.acted:
            log.info("dialog %s: message %s set aside as %s", dialog.dialog_id, message.provider_message_id,
                     verdict)
            await self.commit(step, release=True)  # the step's only commit
            return
        self._log_change(step, before, decision.trigger or "")
        if decision.taken is not None:
            self._remember_taken(step, message.msisdn, decision.taken)
            log.info("dialog %s: reply read as %s", dialog.dialog_id, decision.trigger)
        await self.finish(step)

    async def _reply_without_dialog(self, message: Inbound, seen_key: str, verdict: Verdict,
                                    taken: Taken | None, fence: Fence) -> Notice | None:
        """A message to a phone no dialog waits on: told to its last offer, or answered by the information SMS,
        returned to be handed to the work queue once the phone's lock is let go (None: nothing to send)."""
        now = self.clock.now()
        last = await self._last_offer(message.msisdn)
        if last is not None and last.state == "opted_out":
            log.info("reply from an opted-out phone %s: silence", mask_msisdn(message.msisdn))
            await self.store.mark_seen(seen_key)
            return None
        if last is not None:
            step = self.step(last, fence=fence, proactive=False, channel=message.channel)
            step.keys.append((seen_key, last.dialog_id, INBOUND_MEMORY_SECONDS))
            self._record_inbound(last, message)
            if verdict is not Verdict.ANSWER:
                # A copy of the answer that ended this dialog, or a tap on a closed question: already answered.
                self._set_aside(step, message, verdict, taken)
            elif last.state == "expired":
                if await self.store.once_per_day("lapsed", message.msisdn, almaty_date(now)):
                    step.conversation.say("offer.lapsed")
            elif await self.store.once_per_day("info", message.msisdn, almaty_date(now)):
                step.conversation.say("nodialog.info")
            await self.finish(step)
            return None
        await self.store.mark_seen(seen_key)
        if not await self.store.once_per_day("info", message.msisdn, almaty_date(now)):
            return None
        # The day's claim is spent here; the SMS is a job, so a gateway that refuses it now does not lose it.
        log.info("no dialog for %s: information SMS handed to the work queue", mask_msisdn(message.msisdn))
        return information(message.msisdn, _guess_language(message.text), almaty_date(now))

    async def _last_offer(self, msisdn: str) -> Dialog | None:
        """The newest dialog on this phone that ever wrote to it."""
        ids = await self.store.phone_dialog_ids(msisdn)
        for dialog in reversed(await self.store.load_many(ids)):
            if any(e["direction"] == "out" for e in dialog.transcript):
                return dialog
        return None

    async def delivery_report(self, report: DeliveryReport) -> None:
        """Record a delivery report on its SMS's transcript line; a failed SMS is sent again later, or given up."""
        dialog = await self._reported_dialog(report)
        if dialog is None:
            return
        async with self.store.locked_dialog(dialog.msisdn, dialog.dialog_id) as (lock, loaded):
            assert loaded is not None
            step = self.step(loaded, fence=lock.fence, proactive=True)
            line = _reported_line(loaded, report)
            if line is None:
                if not report.delivered:
                    loaded.flag("delivery_failed")
                    await self.commit(step, release=True)
                return
            outcome = step.conversation.take_delivery_report(line, report.delivered)
            if outcome is None:
                return  # a repeated or overtaken report: the first one had its effect
            step.extra_log.extend(outcome.records)
            if outcome.gave_up:
                log.warning("dialog %s: every send of %s failed", loaded.dialog_id, line.get("msg"))
                self.fire(step, "unreachable", message=line.get("msg"))
            if outcome.gave_up or outcome.outbox_changed:
                await self.finish(step)  # the resend's timer; a dialog that stopped waiting frees its phone
            else:
                await self.commit(step, release=True)

    async def _reported_dialog(self, report: DeliveryReport) -> Dialog | None:
        """The dialog a report is about, named by our client id (`<dialog id>-<n>`), which every report echoes.

        No key maps the provider's ids to dialogs: one per SMS, kept for ever, was a tenth of a dialog's memory.
        """
        dialog = await self.store.load(dialog_id_of(report.client_id)) if report.client_id else None
        if dialog is None:
            log.warning("delivery report %s names no dialog of ours (client id %s): ignored",
                        report.provider_message_id, report.client_id)
        return dialog

    # ---- decisions --------------------------------------------------------------------------------------

    async def decision(self, payload: dict[str, Any]) -> tuple[str, Dialog | None]:
        """A backend decision: ('applied'|'already'|'unknown', dialog). A repeated callback has one effect."""
        application_id = payload["application_id"]
        dialog_id = await self.store.lookup(self.store.keys.application(application_id))
        dialog = await self.store.load(dialog_id) if dialog_id else None
        if dialog is None and isinstance(payload.get("client_id"), str):
            # Only the callback that overtook our record of the submission names its dialog by client_id:
            # a dialog that already has an application is decided by that application's id alone.
            dialog = await self.store.load(payload["client_id"])
            if dialog is not None and not _awaits_application(dialog):
                log.warning("decision for unknown application %s names dialog %s, which has another; refused",
                            application_id, dialog.dialog_id)
                return "unknown", None
        if dialog is None:
            return "unknown", None
        async with self.store.locked_dialog(dialog.msisdn, dialog.dialog_id) as (lock, loaded):
            assert loaded is not None
            if (loaded.application or {}).get("id", application_id) != application_id:
                return "unknown", None  # it got its own application meanwhile
            step = self.step(loaded, fence=lock.fence, proactive=True)
            if loaded.state == "submitted" and loaded.application is None:
                # The callback overtook our record of the submission (we stopped in between).
                self.fire(step, "accepted", application_id=payload["application_id"])
                step.keys.append((self.store.keys.application(payload["application_id"]), loaded.dialog_id,
                                         None))
            trigger = _DECISION_TRIGGERS[payload["outcome"]]
            extended_before = (loaded.application or {}).get("extended")
            if not self.fire(step, trigger, decision=payload) or (trigger == "extend" and extended_before):
                return "already", loaded
            await self.finish(step)
            return "applied", step.dialog

    # ---- timers ------------------------------------------------------------------------------------------

    async def fire_timer(self, dialog_id: str, kind: str) -> None:
        """Fire a dialog's start ("start"), or every other timer of it that is due now ("due"), in due order."""
        dialog = await self.store.load(dialog_id)
        if dialog is None:
            await self.store.drop_timer(dialog_id, kind)
            return
        async with self.store.locked_dialog(dialog.msisdn, dialog_id) as (lock, loaded):
            assert loaded is not None
            now = self.clock.now()
            mine = {k: v for k, v in loaded.timers.items() if (k == "start") == (kind == "start")}
            due = sorted((v, k) for k, v in mine.items() if from_iso(v) <= now)
            if not mine:
                await self.store.drop_timer(dialog_id, kind)
                return
            if not due:
                # The sorted set disagrees with the dialog (it cannot after an atomic save, but a hand edit
                # could): rewrite the score rather than let the clock spin on a timer that will not fire.
                await self.store.save(loaded, {}, fence=lock.fence)
                return
            if compaction.ready(loaded, [name for _, name in due], self.settings.compact_closed_after_days):
                await compaction.compact(self.store, loaded, lock.fence)  # closed and quiet: archived
                return
            step = self.step(loaded, fence=lock.fence, proactive=True)
            for at, name in due:
                del loaded.timers[name]
                if name == compaction.COMPACT:
                    continue  # not yet: something else is due or waiting; this step's save arms it again
                step.extra_log.append({"type": "timer", "kind": name, "due": at,
                                       "lag_seconds": round((now - from_iso(at)).total_seconds(), 3)})
                if name == "start":
                    await self._start(step)
                elif name in ("remind", "expire", "flag_no_account", "overdue"):
                    self.fire(step, name)
                # "outbox": nothing to decide; held or retried messages go out in finish.
            await self.finish(step)


def _keeps_phone(dialog: Dialog) -> bool:
    """The dialog still holds its phone (it waits for an answer, or for its start): nothing to hand on."""
    return dialog.awaiting or dialog.state in ("new", "queued")


def _awaits_application(dialog: Dialog) -> bool:
    """Submitted, and our record of the backend's application id not written yet."""
    return dialog.state == "submitted" and dialog.application is None


def _reported_line(dialog: Dialog, report: DeliveryReport) -> TranscriptLine | None:
    """The transcript line of the SMS a report is about: by the provider's id, or by ours if that is unknown."""
    sent = [line for line in reversed(dialog.transcript) if line["direction"] == "out"]
    by_provider = next((line for line in sent if line.get("provider_id") == report.provider_message_id), None)
    if by_provider is not None or report.client_id is None:
        return by_provider
    return next((line for line in sent if line.get("message_id") == report.client_id), None)


def _keep_outbox_armed(dialog: Dialog, now: dt.datetime) -> None:
    """Whatever a dialog still has to send is never saved without the timer that sends it.

    A worker killed mid-send must leave a timer behind: the step that fired the `outbox` timer has taken it
    out before sending, and without this the stored dialog would keep an SMS that nothing will ever send.
    """
    if not dialog.outbox:
        return
    due = min(from_iso(item.get("retry_at") or item.get("hold_until") or iso(now)) for item in dialog.outbox)
    armed = dialog.timers.get("outbox")
    if armed is None or from_iso(armed) > due:
        dialog.timers["outbox"] = iso(due)


def _guess_language(text: str) -> str:
    """For a phone we know nothing about: Kazakh letters or no Cyrillic at all → kk, other Cyrillic → ru."""
    has_cyrillic = any("\u0400" <= c <= "\u04ff" for c in text)
    return "kk" if _KAZAKH_LETTERS & set(text) or not has_cyrillic else "ru"
