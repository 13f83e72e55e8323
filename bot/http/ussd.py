"""The USSD callback: dialling *1414# shows the question the phone's open dialog waits for and takes the answer.

Each input is a citizen's message like an SMS: an `inbound` job on the work queue (durable once queued,
done by whichever worker takes it), and the screen it leads to is that job's result (bot/work.py: what the
engine showed the phone during the step). A session cut off by the network (no END was shown) is offered
back on the next dial: 1 continues with the screen it stopped at, 2 starts the question again with its full
text. Where each phone's last session stopped lives in Redis, so any bot process can answer the next post.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import unicodedata
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.channels.base import Inbound, InboundFormatError
from bot.channels.ussd import Screen, Shown, UssdChannel, UssdRequest, collecting
from bot.commands import Repeat
from bot.http.common import CLOCK, ENGINE, JOBS, SETTINGS, STORE, errors, read_body
from bot.http.gateway_auth import GATEWAYS, refused
from bot.work import take_inbound
from dialogs.answers import Question
from dialogs.model import Dialog, from_iso, iso
from domain.masking import mask_msisdn

log = logging.getLogger(__name__)

USSD_CHANNEL = web.AppKey("ussd_channel", UssdChannel)
# How long after a cut the next dial offers to continue; later, the question simply starts again.
RESUME_WITHIN = dt.timedelta(minutes=30)
SESSION_TTL_SECONDS = 86400  # Redis forgets a phone's last session after a day; the clock above decides first


async def post_ussd(request: web.Request) -> web.Response:
    """A USSD gateway's post for one step of a session; answers the next screen."""
    body = await read_body(request, request.app[SETTINGS].max_body_bytes)
    if isinstance(body, web.Response):
        return body
    denied = refused(request, body, request.app[GATEWAYS].ussd)
    if denied is not None:
        return denied
    channel = request.app[USSD_CHANNEL]
    try:
        ussd = channel.parse(body, request.content_type)
    except InboundFormatError as error:
        return errors(422, (error.field, "invalid", str(error)))
    screen = await UssdTurn(request.app, ussd).answer()
    return web.Response(text=channel.render(screen), content_type=channel.content_type)


@dataclass
class Session:
    """Where a phone's latest USSD session stands, kept between its posts."""

    session_id: str
    seen: int = 0  # inputs already answered
    reply: str = ""  # the last screen, shown again when the gateway repeats a post
    open: bool = False  # the last screen waited for an input: no END was shown yet
    resuming: bool = False  # the last screen is the continue / start-again menu
    question: str | None = None  # the dialog's last screen: what "continue" shows
    dialog_id: str | None = None
    dialog_state: str | None = None
    language: str | None = None
    at: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Session:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def note(self, dialog: Dialog) -> None:
        """Remember which question of which dialog the session stands at."""
        self.dialog_id, self.dialog_state, self.language = dialog.dialog_id, dialog.state, dialog.language

    def shown(self) -> Question | None:
        """The question of the dialog the last screen showed: what an input typed on it answers."""
        if self.dialog_id is None or self.dialog_state is None:
            return None
        return Question(self.dialog_id, frozenset({self.dialog_state}))

    def stands_at(self, dialog: Dialog) -> bool:
        """The dialog still waits for the answer to the screen this session last showed."""
        return (self.dialog_id, self.dialog_state, self.language) == (dialog.dialog_id, dialog.state,
                                                                      dialog.language)


def compose(shown: list[Shown]) -> str | None:
    """One step's screen: its last message, in each language it was said in (both when none was chosen)."""
    if not shown:
        return None
    last = shown[-1].msg_id
    run: list[str] = []
    for item in reversed(shown):
        if item.msg_id != last:
            break
        run.insert(0, item.text)
    return "\n".join(run)


class UssdTurn:
    """One post of a USSD session, answered: the engine decides, and what it says becomes the screen."""

    def __init__(self, app: web.Application, request: UssdRequest) -> None:
        self.engine = app[ENGINE]
        self.store = app[STORE]
        self.clock = app[CLOCK]
        self.channel = app[USSD_CHANNEL]
        self.settings = app[SETTINGS]
        self.jobs = app[JOBS]
        self.request = request
        self.msisdn = request.msisdn

    async def answer(self) -> Screen:
        stored = await self.store.ussd_session(self.msisdn)
        previous = Session.from_dict(stored) if stored else None
        inputs = self.request.inputs
        if previous is not None and previous.session_id == self.request.session_id:
            if len(inputs) <= previous.seen:
                return Screen(previous.reply, previous.open)  # a repeated post: the same screen, no new effect
            session = previous
            screen = Screen(previous.reply, previous.open)
            # Only the newest few: a post carrying hundreds of new inputs would otherwise make as many steps
            # under the phone's lock. Those skipped are ignored, not answered (no question repeated for them).
            first = max(previous.seen, len(inputs) - self.settings.ussd_max_new_inputs)
            if first > previous.seen:
                log.warning("USSD %s: %d inputs in one post; only the last %d taken", mask_msisdn(self.msisdn),
                            len(inputs) - previous.seen, len(inputs) - first)
            # Every input of this post was typed on the screen shown before it: only the first can have read
            # it; a further one (a double input) meets a question already answered and is set aside.
            question = previous.shown()
            for n in range(first, len(inputs)):
                screen = await self._take(session, n, inputs[n], question)
                if not screen.open:
                    break
        else:
            # A new session. Inputs sent with the dial string (*1414*1#) are not answers: nobody has
            # seen the question yet.
            session = Session(self.request.session_id)
            screen = await self._begin(session, previous)
        session.seen, session.reply, session.open = len(inputs), screen.text, screen.open
        session.at = iso(self.clock.now())
        await self.store.save_ussd_session(self.msisdn, dataclasses.asdict(session), SESSION_TTL_SECONDS)
        return screen

    # ---- steps -------------------------------------------------------------------------------------

    async def _begin(self, session: Session, previous: Session | None) -> Screen:
        dialog = await self._waiting_dialog()
        if dialog is not None and previous is not None and self._cut_off(previous, dialog):
            log.info("USSD %s: the last session was cut off; offering to continue", mask_msisdn(self.msisdn))
            session.resuming, session.question = True, previous.question
            session.note(dialog)
            return Screen(self._resume_menu(dialog.language), True)
        return await self._question(session)

    def _cut_off(self, previous: Session, dialog: Dialog) -> bool:
        recent = bool(previous.at) and self.clock.now() - from_iso(previous.at) <= RESUME_WITHIN
        return previous.open and previous.question is not None and recent and previous.stands_at(dialog)

    async def _take(self, session: Session, n: int, answer: str, question: Question | None) -> Screen:
        if session.resuming:
            return await self._resume(session, answer)
        before = await self.store.phone_active(self.msisdn)
        # Unique per input and the same when the gateway repeats a post: the engine applies it once.
        message = Inbound("ussd", self.msisdn, answer, f"{session.session_id}:{n + 1}", question=question)
        done = await take_inbound(self.jobs, message, screen=True)
        if done is None:
            # Kept on the queue (workers busy, the phone locked by a stopped worker, or given to an operator):
            # it will be taken, but its screen cannot wait. The next dial shows where the dialog stands.
            log.warning("USSD %s: input %d queued; the session ends", mask_msisdn(self.msisdn), n + 1)
            return Screen(self._render("ussd.queued", session.language), False)
        dialog = await self.store.load(before) if before else None
        return await self._shown(session, dialog, [Shown(**item) for item in done.get("shown", [])])

    async def _resume(self, session: Session, answer: str) -> Screen:
        choice = unicodedata.normalize("NFKC", answer).strip()
        dialog = await self._waiting_dialog()
        if dialog is None:
            return self._info()
        if choice == "1" and session.question is not None and session.stands_at(dialog):
            session.resuming = False
            return Screen(session.question, True)
        if choice in ("1", "2"):
            return await self._question(session)  # start again, or the dialog moved on meanwhile
        return Screen(self._resume_menu(dialog.language), True)

    async def _question(self, session: Session) -> Screen:
        """The open question with its full text (recorded in the transcript), or the information screen."""
        session.resuming = False
        # Done here, not queued: nothing the citizen said is at stake (the gateway dials again), and the screen
        # is all it makes. Collected the same way as a job's (bot/work.py), in this request's own task.
        with collecting(self.msisdn) as shown:
            dialog = (await self.engine.run(Repeat(self.msisdn, self.channel.name))).dialog
        if dialog is None:
            return self._info()
        return await self._shown(session, dialog, shown, ask_again=False)

    async def _shown(self, session: Session, dialog: Dialog | None, shown: list[Shown], *,
                     ask_again: bool = True) -> Screen:
        """The screen for what the engine said in a step; it stays open while the dialog waits for an answer."""
        text = compose(shown)
        waiting = dialog is not None and dialog.awaiting
        if text is None:
            # The step said nothing here (a repeated input, a submission to retry later): say where it stands.
            if waiting and ask_again:
                return await self._question(session)
            if dialog is not None and dialog.state == "submitted":
                return Screen(self._render("ussd.accepted", dialog.language), False)
            return self._info()
        if dialog is not None:
            session.note(dialog)
        if waiting:
            session.question = text
        return Screen(text, waiting)

    # ---- helpers -----------------------------------------------------------------------------------

    async def _waiting_dialog(self) -> Dialog | None:
        active = await self.store.phone_active(self.msisdn)
        dialog = await self.store.load(active) if active else None
        return dialog if dialog is not None and dialog.awaiting else None

    def _render(self, msg_id: str, language: str | None) -> str:
        return self.engine.translator.render(msg_id, language or "kk")

    def _resume_menu(self, language: str | None) -> str:
        return self._render("ussd.resume", language) if language else self._render("ussd.resume.bilingual", "kk")

    def _info(self) -> Screen:
        return Screen(self._render("ussd.info", "kk"), False)  # bilingual: the same text in both catalogs
