"""What each kind of job does (the engine's steps, from and to JSON), and how due timers become jobs."""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict
from typing import Any

from bot.channels.base import Channel, DeliveryReport, Inbound, Outbound, SendError
from bot.channels.ussd import collecting
from bot.commands import BackendDecision, Cancel, Intake, NewEvent, Reply, Report, TimerDue
from bot.engine import Engine
from bot.i18n import Translator
from bot.jobs import WAITS_UNTIL, Handler, JobFailed, JobQueue
from bot.notices import KIND as NOTICE
from bot.notices import Notice
from bot.store import Store
from dialogs.answers import Question
from dialogs.model import Dialog, from_iso, iso
from domain.masking import mask_msisdn

log = logging.getLogger("bot.work")


def event_payload(event: NewEvent, dialog_id: str) -> dict[str, Any]:
    return {**asdict(event), "event_date": event.event_date.isoformat(), "registered_at": iso(event.registered_at),
            "dialog_id": dialog_id}


def inbound_payload(message: Inbound) -> dict[str, Any]:
    """A citizen's message as a job: with the question it was tapped or typed on, so a replay (an operator's, of a
    dead letter) is judged as the message was (dialogs/answers.py), never as a bare "1" for whatever is open then.
    Without `received_at` it was received when the job was accepted (the job's clock, kept by a replay)."""
    received = message.received_at
    question = message.question
    return {"channel": message.channel, "msisdn": message.msisdn, "text": message.text,
            "provider_message_id": message.provider_message_id,
            "received_at": iso(received) if received else None,
            "question": {"dialog_id": question.dialog_id, "states": sorted(question.states)} if question else None}


# In an `inbound` job's payload, when a request waits for the screen the step shows (USSD): until when it waits
# (unix time, as the waiting `JobQueue.run` counts). A step begun later, or a replay (which drops it), shows nothing.
SCREEN_UNTIL = WAITS_UNTIL


async def take_inbound(queue: JobQueue, message: Inbound, *, screen: bool = False) -> dict[str, Any] | None:
    """A citizen's message, whichever channel brought it, as an `inbound` job: kept once this returns. The job's
    result ({"verdict", "shown"}) when a worker finished it in time, else None (queued: see `run_or_queued`).
    `screen`: the channel's request waits for what the step shows the phone (USSD), returned as "shown"."""
    payload = inbound_payload(message)
    if screen:
        payload[SCREEN_UNTIL] = time.time() + queue.wait_seconds
    return await queue.run_or_queued("inbound", payload)


def inbound_message(p: dict[str, Any]) -> Inbound:
    """The message `inbound_payload` made into a job."""
    received, question = p.get("received_at"), p.get("question")
    return Inbound(p["channel"], p["msisdn"], p["text"], p["provider_message_id"],
                   from_iso(received) if received else None,
                   Question(question["dialog_id"], frozenset(question["states"])) if question else None)


def report_payload(report: DeliveryReport) -> dict[str, Any]:
    return asdict(report)


async def send_notice(notice: Notice, sms: Channel, translator: Translator) -> dict[str, Any]:
    """A `notice` job (bot/notices.py): its text rendered now, sent by SMS under its stable client id.

    A refusal worth retrying (the gateway unreachable, a 5xx or 429) fails the job: the queue does it again once it
    is idle, and after `JOB_MAX_DELIVERIES` gives it to the operators' dead letters. A refusal for good (a 4xx: the
    request itself is wrong, or we are misconfigured) is logged and the job is done: sending it again cannot help.
    """
    text = translator.render(notice.msg_id, notice.language)
    phone = mask_msisdn(notice.msisdn)
    try:
        receipt = await sms.send(Outbound(notice.client_id, notice.msisdn, text, notice.msg_id, notice.language))
    except SendError as error:
        if error.failure.retryable:
            raise JobFailed("unavailable", f"{notice.msg_id} to {phone}: {error}") from error
        log.error("%s to %s refused for good (%s): not sent, not retried", notice.msg_id, phone, error)
        return {"sent": False, "failure": str(error.failure)}
    log.info("%s sent to %s", notice.msg_id, phone)
    return {"sent": True, "provider_message_id": receipt.provider_message_id}


def _answer(dialog: Dialog | None, **extra: Any) -> dict[str, Any]:
    if dialog is None:
        return extra
    return {"dialog_id": dialog.dialog_id, "service": dialog.service, "status": dialog.status, **extra}


def handlers(engine: Engine) -> dict[str, Handler]:
    """The engine's commands as job handlers: JSON in, a command (bot/commands.py) run, JSON out."""

    async def event(p: dict[str, Any]) -> dict[str, Any]:
        dialog_id = p.pop("dialog_id")
        new = NewEvent(**{**p, "event_date": dt.date.fromisoformat(p["event_date"]),
                          "registered_at": from_iso(p["registered_at"])})
        done = await engine.run(Intake(new, dialog_id))
        if done.dialog is None:  # the same event_id, posted meanwhile for another phone, is still being created
            return {"created": False, "dialog_id": dialog_id, "service": new.service, "status": "queued"}
        return _answer(done.dialog, created=done.word == "created")

    async def cancel(p: dict[str, Any]) -> dict[str, Any]:
        done = await engine.run(Cancel(p["event_id"], p["cancels"], p.get("registry")))
        return _answer(done.dialog, outcome=done.word)

    async def inbound(p: dict[str, Any]) -> dict[str, Any]:
        message = inbound_message(p)
        # A USSD request waiting for this step's screen: what the engine shows the phone comes back in the result.
        with collecting(message.msisdn, wanted=time.time() < float(p.get(SCREEN_UNTIL) or 0)) as shown:
            verdict = (await engine.run(Reply(message))).verdict
        return {"verdict": None if verdict is None else str(verdict), "shown": [asdict(item) for item in shown]}

    async def report(p: dict[str, Any]) -> dict[str, Any]:
        await engine.run(Report(DeliveryReport(p["provider_message_id"], p.get("client_id"), p["delivered"])))
        return {}

    async def decision(p: dict[str, Any]) -> dict[str, Any]:
        done = await engine.run(BackendDecision(p))
        return _answer(done.dialog, outcome=done.word)

    async def timer(p: dict[str, Any]) -> dict[str, Any]:
        await engine.run(TimerDue(p["dialog_id"], p["kind"]))
        return {}

    async def notice(p: dict[str, Any]) -> dict[str, Any]:
        return await send_notice(Notice.from_payload(p), engine.sms, engine.translator)

    return {"event": event, "cancel": cancel, "inbound": inbound, "report": report, "decision": decision,
            "timer": timer, NOTICE: notice}


class TimerFeed:
    """Due timers become jobs. In production a poller queues them; the simulated clock waits for them.

    Each timer is claimed for `lease_seconds` when it is queued (its score moves on by that much), so of many
    pollers one queues it, and a timer whose job was lost comes due again.
    """

    def __init__(self, store: Store, queue: JobQueue, lease_seconds: float = 120.0) -> None:
        self.store = store
        self.queue = queue
        self.lease_seconds = lease_seconds

    async def next_due(self) -> dt.datetime | None:
        return await self.store.next_timer()

    async def poll(self, now: dt.datetime) -> int:
        """Queue every timer due at `now` (each as of its own due instant); how many were queued."""
        claimed = await self.store.claim_due(now, self.lease_seconds)
        for _, dialog_id, kind in claimed:
            await self.queue.add("timer", {"dialog_id": dialog_id, "kind": kind}, at=now)
        return len(claimed)

    async def fire_due(self, now: dt.datetime) -> None:
        """Fire every timer due at `now` and wait until each has been done (the simulated clock moves then).

        Messages held for the same instant go out before held dialogs start, so that at 09:00 a phone hears
        that its old offer ended before it hears the next one.
        """
        claimed = await self.store.claim_due(now, self.lease_seconds)
        for starting in (False, True):
            for _, dialog_id, kind in claimed:
                if (kind == "start") == starting:
                    try:
                        await self.queue.run("timer", {"dialog_id": dialog_id, "kind": kind}, at=now)
                    except JobFailed:
                        pass  # logged by the worker; the job stays pending and its timer comes due again
