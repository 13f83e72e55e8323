"""The dialog's decisions: callbacks the state machines call. They record what to send; they do no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from transitions import EventData

from bot.clock import almaty_date
from bot.i18n import Ref, format_datetime_local
from bot.messages import EXTENSION_REASONS, REFUSAL_REASONS
from dialogs.consent import ASKING
from dialogs.delivery import Redelivery, root_of, worth_resending
from dialogs.facts import read_facts, usable_account
from dialogs.model import Dialog, from_iso, iso, resend_id
from dialogs.records import SmsItem, TranscriptLine
from dialogs.spec import MACHINES, SERVICES
from domain.backoff import jittered
from domain.iban import bank_name
from domain.masking import mask_iban
from domain.quiet_hours import quiet_until, start_of_local_day
from domain.workdays import decision_due

BILINGUAL = frozenset({"language.ask", "language.reprompt"})
# The law names SMS: the consent request and the decision go by SMS even when the citizen uses another channel.
ALWAYS_BY_SMS = ("consent.ask.", "decision.")
# Channels the citizen reads only while a session is open: nothing can be pushed to them later.
PULL_CHANNELS = frozenset({"ussd"})
CLAIMED_STATES = frozenset({"applied", "assigned", "paid"})
# Transcript statuses of an SMS that did not (and will not) reach the phone.
NOT_RECEIVED = frozenset({"withdrawn", "failed", "undeliverable"})
Render = Callable[..., str]
# What to reply, said after the answer to "who is this?", for the question the dialog waits on.
QUESTION_REPLIES = {
    "awaiting_language": "question.reply.language", "awaiting_consent": "question.reply.consent",
    "confirming_bank_account": "question.reply.confirm_account", "awaiting_bank_account": "question.reply.iban",
}


@dataclass(frozen=True)
class DialogRules:
    """The settings a decision may read: the law's and the service's numbers and hours, never a secret or an
    address (the engine hands these over, not its whole Settings)."""

    answer_window_hours: int
    reminder_after_hours: int
    bank_flag_after_hours: int
    quiet_start: dt.time
    quiet_end: dt.time
    decision_working_days: int
    working_day_end: dt.time
    extension_calendar_days: int
    max_unclear_replies: int
    max_bank_errors: int
    delivery_retry_seconds: tuple[int, ...]

    @classmethod
    def of(cls, settings: object) -> DialogRules:
        """These fields of a settings object (bot.settings.Settings has them all)."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


@dataclass
class Context:
    """What a decision may know besides the dialog: the time, the rules, and who started this step."""

    now: dt.datetime
    rules: DialogRules
    render: Render
    proactive: bool
    channel: str = "sms"


class Conversation:
    """A dialog being decided: the machine's model for one step. Decisions land in `dialog.outbox`."""

    def __init__(self, dialog: Dialog, ctx: Context) -> None:
        self.dialog = dialog
        self.ctx = ctx
        self.spec = SERVICES[dialog.service]

    # transitions reads and writes the model's state through this attribute.
    @property
    def state(self) -> str:
        return self.dialog.state

    @state.setter
    def state(self, value: str) -> None:
        self.dialog.state = value

    def fire(self, trigger: str, **kwargs: Any) -> bool:
        """Run one trigger; False when it has no transition from here or its conditions say no."""
        if not self.can(trigger):
            return False
        before, turn = self.dialog.state, len(self.dialog.transcript)
        done = bool(MACHINES[self.dialog.service].events[trigger].trigger(self, **kwargs))
        if self.dialog.state != before:
            self.dialog.history.append(
                {"at": iso(self.ctx.now), "from": before, "to": self.dialog.state, "trigger": trigger,
                 "turn": turn}
            )
        return done

    def can(self, trigger: str) -> bool:
        """Whether `trigger` has a transition from the current state."""
        machine = MACHINES[self.dialog.service]
        return trigger in machine.events and bool(machine.events[trigger].transitions.get(self.dialog.state))

    # ---- sending -------------------------------------------------------------------------------

    def _channels(self, msg_id: str) -> list[str]:
        """Where a message goes: the channel the citizen last answered on; the law's texts also by SMS."""
        channel = self.dialog.last_channel
        if channel in PULL_CHANNELS and self.ctx.proactive:
            channel = "sms"  # nobody is looking at a USSD screen we could write to; SMS reaches the phone
        targets = [channel]
        if channel != "sms" and msg_id.startswith(ALWAYS_BY_SMS) and not self._sent_by_sms(msg_id):
            targets.append("sms")
        return targets

    def _sent_by_sms(self, msg_id: str) -> bool:
        """The law's copy by SMS is owed once: showing the question again on USSD or Telegram does not repeat it."""
        return any(line["direction"] == "out" and line["channel"] == "sms" and line.get("msg") == msg_id
                   and line.get("status") not in NOT_RECEIVED for line in self.dialog.transcript)

    def _text(self, channel: str, msg_id: str, lang: str, params: dict[str, Any]) -> tuple[str, str]:
        """The channel's own wording when it has one (USSD screens are shorter than an SMS)."""
        if channel in PULL_CHANNELS:
            try:
                return f"{channel}.{msg_id}", self.ctx.render(f"{channel}.{msg_id}", lang, **params)
            except KeyError:
                pass
        return msg_id, self.ctx.render(msg_id, lang, **params)

    def say(self, msg_id: str, **params: Any) -> None:
        """Queue a message to the citizen, held until quiet hours end if nobody asked for it."""
        languages: list[str]
        if msg_id in BILINGUAL:
            languages = ["kk"]  # the bilingual text is the same in both catalogs
        elif self.dialog.language is None:
            languages = ["kk", "ru"]  # language never chosen: one SMS in each rather than a guess
        else:
            languages = [self.dialog.language]
        hold = None
        if self.ctx.proactive:
            hold = quiet_until(self.ctx.now, self.ctx.rules.quiet_start, self.ctx.rules.quiet_end)
        for channel in self._channels(msg_id):
            for lang in languages:
                variant, text = self._text(channel, msg_id, lang, params)
                item: SmsItem = {
                    "kind": "sms", "id": self.dialog.next_id(), "msg": variant, "text": text, "lang": lang,
                    "channel": channel, "hold_until": iso(hold) if hold else None, "attempts": 0,
                }
                self.dialog.outbox.append(item)
                self.dialog.transcript.append({
                    "at": iso(self.ctx.now), "direction": "out", "channel": channel, "text": text,
                    "message_id": item["id"], "msg": variant, "status": "held" if hold else "pending",
                })
        # Armed even for an SMS sent at once: if we stop between saving and sending, the timer sends it.
        self._arm("outbox", hold or self.ctx.now)

    def _arm(self, kind: str, at: dt.datetime) -> None:
        current = self.dialog.timers.get(kind)
        if kind == "outbox" and current and from_iso(current) <= at:
            return
        self.dialog.timers[kind] = iso(at)

    def clear_timers(self, event: EventData) -> None:
        """Leaving a waiting state ends its reminders and deadlines (held messages keep their timer)."""
        self.dialog.timers = {k: v for k, v in self.dialog.timers.items() if k == "outbox"}

    def withdraw_held_reminders(self, event: EventData) -> None:
        """Leaving a question withdraws its reminder or resend still held: it would ask it again.

        While a dialog waits for an answer, the only messages it holds are a reminder of that question (a
        timer fired at night) and resends of it after a failed delivery; answered meanwhile, they must not go
        out later and be read as a question still open. This runs before the next state speaks, so nothing
        new is lost.
        """
        self.withdraw_held()

    def _withdraw(self, ids: set[str]) -> bool:
        """Take these messages out of the outbox; their lines not sent yet say `withdrawn`. False: none."""
        if not ids:
            return False
        self.dialog.outbox = [item for item in self.dialog.outbox if item["id"] not in ids]
        for entry in self.dialog.transcript:
            if entry.get("message_id") in ids and entry.get("status") in ("held", "pending"):
                entry["status"] = "withdrawn"
        return True

    # ---- intake and start -------------------------------------------------------------------------

    def note_duplicate(self, event: EventData) -> None:
        self.dialog.duplicate_of = event.kwargs.get("original")

    def schedule_start(self, event: EventData) -> None:
        until = event.kwargs.get("until")
        if until is not None:
            self._arm("start", until)

    def take_facts(self, event: EventData) -> None:
        """Keep what the state databases said that can be used; flag for operators what could not."""
        facts = read_facts(event.kwargs.get("facts"))
        self.dialog.bank_on_record = facts.bank_account
        for problem in facts.problems:
            self.dialog.flag(problem)

    def benefit_already_claimed(self, event: EventData) -> bool:
        for claim in read_facts(event.kwargs.get("facts")).benefits:
            if (claim["service"] == self.dialog.service and claim["person_iin"] in self.dialog.subject_iins
                    and claim["state"] in CLAIMED_STATES):
                self.dialog.close_reason = f"benefit already {claim['state']} in the state databases"
                return True
        return False

    def close_already_applied(self, event: EventData) -> None:
        """Nothing to ask: the state databases already show this benefit; no SMS."""

    def language_unknown(self, event: EventData) -> bool:
        return self.dialog.language is None

    def set_language(self, event: EventData) -> None:
        self.dialog.language = event.kwargs["language"]

    # ---- asking -----------------------------------------------------------------------------------

    def _open_window(self, sent: dt.datetime | None = None) -> None:
        s = self.ctx.rules
        sent = sent or self.ctx.now
        self.dialog.offer_sent_at = iso(sent)
        expires = sent + dt.timedelta(hours=s.answer_window_hours)
        self.dialog.expires_at = iso(expires)
        self._arm("remind", sent + dt.timedelta(hours=s.reminder_after_hours))
        # The window includes its last second: a reply at exactly +72 h still counts.
        self._arm("expire", expires + dt.timedelta(seconds=1))

    def ask_language(self, event: EventData) -> None:
        self._open_window()
        self.say("language.ask")

    def ask_consent(self, event: EventData) -> None:
        self._open_window()
        self._say_consent_question()

    def _say_consent_question(self) -> None:
        variant = self.spec.consent_variant
        message = variant(self.dialog.subject_iins) if variant else self.spec.consent_message
        self.say(message, event_date=dt.date.fromisoformat(self.dialog.event_date),
                 hours=str(self.ctx.rules.answer_window_hours))

    def repeat_question(self, event: EventData | None = None) -> None:
        """Say again what the dialog is waiting for (after a language switch, a reminder or an operator)."""
        state = self.dialog.state
        if state == "awaiting_language":
            self.say("language.ask")
        elif state == "awaiting_consent":
            self._say_consent_question()
        elif state == "confirming_bank_account":
            self._say_confirm()
        elif state == "awaiting_bank_account":
            self.say("bank.ask_other")

    def reprompt(self, event: EventData) -> None:
        self.dialog.unclear_replies += 1
        if self.dialog.unclear_replies >= self.ctx.rules.max_unclear_replies:
            self.dialog.flag("unclear_replies")
        state = self.dialog.state
        if state == "awaiting_language":
            self.say("language.reprompt")
        elif state == "awaiting_consent":
            self.say("consent.reprompt")
        elif state == "confirming_bank_account":
            account = self.dialog.bank_on_record or ""
            self.say("bank.confirm_reprompt", bank=_bank(account), iban=mask_iban(account))
        else:
            self.say("bank.ask_other")

    def answer_question(self, event: EventData) -> None:
        """"Who is this?", "is this a scam?": who we are, that we never ask for codes, and what to reply.

        Not counted as an unclear reply: a citizen who checks who is writing before answering is doing
        right, and is not brought nearer to an operator for it.
        """
        self.say("question.who", reply=Ref(QUESTION_REPLIES[self.dialog.state]))

    def send_reminder(self, event: EventData) -> None:
        if self.dialog.state == "awaiting_language":
            self.say("language.ask")
            return
        deadline = from_iso(self.dialog.expires_at or iso(self.ctx.now))
        self.say("consent.reminder", deadline=format_datetime_local(deadline, self.dialog.language or "kk"))

    # ---- consent -----------------------------------------------------------------------------------

    def has_account_on_record(self, event: EventData) -> bool:
        """An account on record we can show; one we cannot (kept from before it was checked) counts as none."""
        if self.dialog.bank_on_record and usable_account(self.dialog.bank_on_record) is None:
            self.dialog.bank_on_record = None
            self.dialog.flag("account_on_record_unusable")
        return bool(self.dialog.bank_on_record)

    def record_consent(self, event: EventData) -> None:
        """The consent instant and its Kazakhstan date: the application date, set once, never changed."""
        if self.dialog.consent is not None:
            return
        self.dialog.consent = {
            "given_at": iso(self.ctx.now),
            "application_date": almaty_date(self.ctx.now).isoformat(),
            "channel": self.ctx.channel,
        }

    def _application_date(self) -> dt.date:
        assert self.dialog.consent is not None
        return dt.date.fromisoformat(self.dialog.consent["application_date"])

    def acknowledge_decline(self, event: EventData) -> None:
        self.say("declined.ack")

    def notify_expired(self, event: EventData) -> None:
        self.say("expired.notice")

    def acknowledge_opt_out(self, event: EventData) -> None:
        if self.dialog.consent is not None:
            self.dialog.flag("opted_out_after_consent")
        self.say("optout.ack")

    # ---- bank account ---------------------------------------------------------------------------------

    def _say_confirm(self) -> None:
        account = self.dialog.bank_on_record or ""
        self.say("bank.confirm", application_date=self._application_date(), bank=_bank(account),
                 iban=mask_iban(account))

    def ask_confirm_account(self, event: EventData) -> None:
        account = self.dialog.bank_on_record or ""
        self.dialog.bank_account = {"iban": account, "bank": _bank(account), "source": "on_record"}
        self._say_confirm()
        self.arm_bank_timers(event)

    def ask_bank_account(self, event: EventData) -> None:
        self.say("bank.ask", application_date=self._application_date())

    def ask_other_account(self, event: EventData) -> None:
        self.say("bank.ask_other")

    def arm_bank_timers(self, event: EventData) -> None:
        s = self.ctx.rules
        self._arm("remind", self.ctx.now + dt.timedelta(hours=s.reminder_after_hours))
        self._arm("flag_no_account", self.ctx.now + dt.timedelta(hours=s.bank_flag_after_hours))

    def use_account_on_record(self, event: EventData) -> None:
        account = self.dialog.bank_on_record or ""
        self.dialog.bank_account = {"iban": account, "bank": _bank(account), "source": "on_record"}

    def use_typed_account(self, event: EventData) -> None:
        iban = event.kwargs["iban"]
        self.dialog.bank_account = {"iban": iban, "bank": _bank(iban), "source": "typed"}

    def explain_bad_account(self, event: EventData) -> None:
        self.dialog.bank_errors += 1
        code, params = event.kwargs["code"], event.kwargs.get("params") or {}
        self.say(f"bank.error.{code}", **params)
        if self.dialog.bank_errors == self.ctx.rules.max_bank_errors:
            self.dialog.flag("bank_account_errors")
            self.say("bank.too_many_errors")

    def flag_missing_account(self, event: EventData) -> None:
        self.dialog.flag("no_bank_account")

    # ---- application and decision ------------------------------------------------------------------------

    def request_submission(self, event: EventData) -> None:
        self.dialog.outbox.append({"kind": "submit", "id": self.dialog.next_id(), "attempts": 0,
                                   "hold_until": None})
        self._arm("outbox", self.ctx.now)

    def awaiting_application_id(self, event: EventData) -> bool:
        return self.dialog.application is None

    def record_application(self, event: EventData) -> None:
        # From the day the application is registered: the consent's day, or the next working day when consent
        # came after working hours or on a day off. The application date itself stays the consent's date.
        assert self.dialog.consent is not None
        s = self.ctx.rules
        due = decision_due(from_iso(self.dialog.consent["given_at"]), s.decision_working_days, s.working_day_end)
        self.dialog.application = {
            "id": event.kwargs["application_id"], "submitted_at": iso(self.ctx.now),
            "decision_due": due.isoformat(), "extended": None,
        }
        self._arm_overdue(due)
        self.say("application.submitted", application_id=event.kwargs["application_id"],
                 application_date=self._application_date(), decision_due=due)

    def _arm_overdue(self, due: dt.date) -> None:
        self._arm("overdue", start_of_local_day(due + dt.timedelta(days=1)))

    def record_decision(self, event: EventData) -> None:
        callback = event.kwargs["decision"]
        self.dialog.decision = {
            "outcome": callback["outcome"], "decided_at": callback.get("decided_at") or iso(self.ctx.now),
            "benefits": callback.get("benefits") or [], "reason": callback.get("reason"),
        }
        if "decision_overdue" in self.dialog.flags:
            self.dialog.flags.remove("decision_overdue")

    def _application_id(self) -> str:
        return str((self.dialog.application or {}).get("id", ""))

    def notify_assigned(self, event: EventData) -> None:
        params = self.spec.assigned_params((self.dialog.decision or {}).get("benefits") or [])
        message = self.spec.assigned_variant(params) if self.spec.assigned_variant else self.spec.assigned_message
        self.say(message, application_id=self._application_id(), **params)

    def notify_refused(self, event: EventData) -> None:
        reason_code = (self.dialog.decision or {}).get("reason") or "not_eligible"
        reason = self._reason_text("refusal", reason_code, REFUSAL_REASONS)
        self.say("decision.refused", application_id=self._application_id(), reason=Ref(reason),
                 benefit=Ref(self.spec.benefit))

    def _reason_text(self, kind: str, code: object, known: tuple[str, ...]) -> str:
        """The catalog id for a backend's reason code; a code we have no words for gets the generic text, and
        operators a flag so that someone explains it (never an exception: the citizen would wait for nothing)."""
        msg_id = f"{kind}.{code}"
        if msg_id in known and msg_id != f"{kind}.other":
            return msg_id
        self.dialog.flag("unknown_reason")
        return f"{kind}.other"

    def record_extension(self, event: EventData) -> None:
        callback = event.kwargs["decision"]
        assert self.dialog.application is not None
        if self.dialog.application.get("extended"):
            return  # a backend that calls back twice has one effect
        if callback.get("decision_due"):
            due = dt.date.fromisoformat(callback["decision_due"])
        else:
            due = self._application_date() + dt.timedelta(days=self.ctx.rules.extension_calendar_days)
        reason_code = callback.get("reason") or "more_documents"
        self.dialog.application["decision_due"] = due.isoformat()
        self.dialog.application["extended"] = {"at": iso(self.ctx.now), "reason": reason_code}
        if "decision_overdue" in self.dialog.flags:
            self.dialog.flags.remove("decision_overdue")
        self._arm_overdue(due)
        lang = self.dialog.language or "kk"
        reason = self.ctx.render(self._reason_text("extension", reason_code, EXTENSION_REASONS), lang)
        self.say("decision.extended", application_id=self._application_id(), decision_due=due, reason=reason)

    def flag_overdue(self, event: EventData) -> None:
        self.dialog.flag("decision_overdue")

    # ---- corrections ----------------------------------------------------------------------------------------

    def note_cancel(self, event: EventData) -> None:
        self.dialog.cancelled_by = event.kwargs.get("by")
        self.withdraw_held()

    def note_close(self, event: EventData) -> None:
        """An operator closes the dialog: the reason is kept, held messages and timers are withdrawn."""
        self.dialog.close_reason = event.kwargs.get("reason")
        self.withdraw_held()
        self.clear_timers(event)

    def withdraw_held(self) -> None:
        """Withdraw every message still held for quiet hours or a resend (they would speak for a dialog that ended)."""
        self._withdraw({item["id"] for item in self.dialog.outbox
                        if item["kind"] == "sms" and item.get("hold_until") is not None})

    def notify_cancelled(self, event: EventData) -> None:
        """Owed only to someone who has already been told something about this offer."""
        told = any(e["direction"] == "out" and e.get("status") not in ("withdrawn",)
                   for e in self.dialog.transcript)
        if told:
            self.say("cancelled.notice")

    # ---- delivery reports -------------------------------------------------------------------------------------

    def take_delivery_report(self, line: TranscriptLine, delivered: bool) -> Redelivery | None:
        """The gateway's word on one SMS; None when it changes nothing (gateways repeat reports)."""
        status = line.get("status")
        if status in ("delivered", "undeliverable") or (status == "failed" and not delivered):
            return None  # a repeat, or a late report contradicting the first one: that one had its effect
        root = root_of(line)
        if delivered:
            line["status"] = "delivered"
            # A "delivered" after a "failed" for the same SMS: the resend waiting for it is not needed.
            outcome = Redelivery(outbox_changed=self._withdraw(
                {item["id"] for item in self.dialog.outbox if item.get("resend_of") == root}))
            if status == "failed" or "resend_of" in line:
                self._got_through(line, root)
            return outcome
        line["status"] = "failed"
        self.dialog.flag("delivery_failed")
        failures = int(line.get("attempt", 0)) + 1
        if not worth_resending(self.dialog, root):
            return Redelivery()  # answered, superseded, or no longer of use: the resends stop here
        error = {"item": "delivery", "message_id": line["message_id"], "channel": "sms", "attempt": failures,
                 "error": "not delivered"}
        if failures > len(self.ctx.rules.delivery_retry_seconds):
            line["status"] = "undeliverable"
            return Redelivery(records=[{"type": "dead_letter", **error}], gave_up=True)
        item = self._resend(line, root, failures)
        return Redelivery(records=[{"type": "retry", **error, "resend_id": item["id"], "due": item["hold_until"]}],
                          outbox_changed=True)

    def _resend(self, line: TranscriptLine, root: str, attempt: int) -> SmsItem:
        """Queue a failed SMS again after its backoff and jitter, under a new client id (its line: when sent)."""
        s = self.ctx.rules
        delay = jittered(s.delivery_retry_seconds[attempt - 1], f"{root}:{attempt}")
        due = self.ctx.now + dt.timedelta(seconds=delay)
        # Nobody asked for it just now: like any proactive SMS, it waits for the morning.
        due = quiet_until(due, s.quiet_start, s.quiet_end) or due
        item: SmsItem = {"kind": "sms", "id": resend_id(root, attempt), "msg": line.get("msg"), "text": line["text"],
                         "lang": self.dialog.language, "channel": "sms", "hold_until": iso(due), "attempts": 0,
                         "resend_of": root, "attempt": attempt}
        self.dialog.outbox.append(item)
        self._arm("outbox", due)
        return item

    def _got_through(self, line: TranscriptLine, root: str) -> None:
        """A message reached the phone after a failure: nobody need act, and a resent offer's window restarts."""
        if "delivery_failed" in self.dialog.flags and not any(i.get("resend_of") for i in self.dialog.outbox):
            self.dialog.flags.remove("delivery_failed")
        first = next(e for e in self.dialog.transcript if e["direction"] == "out" and e.get("message_id") == root)
        # The citizen gets the whole answer window from the send that reached them, not from the lost one.
        if (line is not first and line.get("sent_at") and self.dialog.state in ASKING
                and first["at"] == self.dialog.offer_sent_at):
            self._open_window(from_iso(line["sent_at"]))

    def note_unreachable(self, event: EventData) -> None:
        """No SMS about the open question reached the phone: the reason operators read on the dialog."""
        self.dialog.close_reason = f"undeliverable: every send of {event.kwargs.get('message')} failed"

    def flag_undeliverable_notice(self, event: EventData) -> None:
        self.dialog.flag("undeliverable_notice")


def _bank(iban: str) -> str:
    """The bank's name; its code when our table lacks it (never raises: a name is only shown, not decided on)."""
    try:
        return bank_name(iban)
    except ValueError:
        return iban[4:7]
