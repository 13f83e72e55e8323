"""Telegram through python-telegram-bot, by webhook inside our aiohttp app: the only module that knows its format.

A citizen's text or tap is handed on as SMS is (`take`: an `inbound` job on the work queue, durable once queued);
the binding of a chat to a phone, and the question asked again after it, are done in the webhook's request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

import httpx
from aiohttp import web
from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update, User
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.channels.base import Inbound, Outbound, Receipt, SendError, SendFailure, Take
from bot.channels.telegram_buttons import Buttons, tapped
from bot.commands import Repeat
from bot.http.common import SETTINGS, errors, parse_json, read_body, unauthorized
from bot.i18n import LANGUAGES, Translator
from bot.settings import Settings
from bot.store import Store
from dialogs.answers import Verdict
from dialogs.model import Dialog, dialog_id_of
from domain.masking import mask_msisdn
from domain.phone import PhoneError, parse_msisdn

if TYPE_CHECKING:
    from bot.engine import Engine

log = logging.getLogger("bot.channels.telegram")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/v1/telegram/webhook"
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def failure_for(error: TelegramError) -> SendFailure:
    """The send failure a Bot API error is; the engine retries connection and server trouble only."""
    if isinstance(error, TimedOut) or isinstance(error.__cause__, httpx.HTTPError):
        return SendFailure.CONNECTION
    if isinstance(error, RetryAfter):
        return SendFailure.BAD_STATUS  # flood control: the same message goes through later
    if isinstance(error, InvalidToken | EndPointNotFound | Conflict):
        return SendFailure.BAD_CONFIG
    if isinstance(error, BadRequest | Forbidden | ChatMigrated):
        return SendFailure.BAD_CONTENT  # no such chat, or the citizen blocked the bot: retrying cannot help
    if isinstance(error, NetworkError):
        return SendFailure.BAD_STATUS  # a 5xx from the Bot API
    return SendFailure.BAD_CONTENT


class TelegramChannel:
    """Binds a Telegram chat to a phone by a shared contact, then carries the dialog there with buttons."""

    name = "telegram"

    def __init__(self, settings: Settings, store: Store, translator: Translator, engine: Callable[[], Engine],
                 take: Take) -> None:
        assert settings.telegram_token, "Telegram is off without a token"
        api, timeout = settings.telegram_api_url.rstrip("/"), settings.http_timeout_seconds
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            Application.builder().token(settings.telegram_token)
            .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
            .updater(None).job_queue(None)
            .connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout).pool_timeout(timeout)
            .build()
        )
        self._secret = settings.telegram_secret.encode()
        self._store = store
        self._translator = translator
        self._buttons = Buttons(translator)
        self._engine = engine
        self._take = take
        self._started = False
        self._start_lock = asyncio.Lock()
        self._failures: dict[int, BaseException] = {}
        private = filters.ChatType.PRIVATE
        self.application.add_handlers([
            CommandHandler("start", self._on_start, filters=private),
            MessageHandler(private & filters.CONTACT, self._on_contact),
            MessageHandler(private & filters.TEXT & ~filters.COMMAND, self._on_text),
            CallbackQueryHandler(self._on_press),
        ])
        self.application.add_error_handler(self._on_error)

    # ---- life cycle ----------------------------------------------------------------------------

    async def _ready(self) -> None:
        """Initialise on first use: in dev the Bot API mock is served by this very server, not yet up at start-up."""
        if self._started:
            return
        async with self._start_lock:
            if self._started:
                return
            try:
                await self.application.initialize()  # getMe: also proves the token
                await self.application.start()
            except TelegramError as error:
                raise SendError(failure_for(error), f"Bot API start-up failed: {type(error).__name__}") from error
            self._started = True

    async def close(self) -> None:
        """Stop the application and close its HTTP client."""
        if self._started:
            await self.application.stop()
            await self.application.shutdown()
            self._started = False
        else:
            await self.application.bot.shutdown()  # a failed start-up may have opened its HTTP client

    # ---- in: updates ---------------------------------------------------------------------------

    def secret_ok(self, header: str) -> bool:
        """Whether a webhook call carries our secret token (compared in constant time)."""
        return hmac.compare_digest(header.encode("utf-8", "replace"), self._secret)

    def parse(self, payload: Any) -> Update:
        """A webhook body as an Update; ValueError when it is not one."""
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise ValueError("an update is a JSON object with an integer update_id")
        try:
            return Update.de_json(payload, self.application.bot)
        except Exception as error:  # whatever a malformed field provokes inside the library
            raise ValueError(f"not a Telegram update: {type(error).__name__}") from error

    async def handle(self, update: Update) -> None:
        """Run the update through the handlers; a handler's failure is raised here so Telegram retries."""
        await self._ready()
        await self.application.process_update(update)
        error = self._failures.pop(update.update_id, None)
        if isinstance(error, TelegramError):  # we could not answer the citizen: the Bot API is in trouble
            raise SendError(failure_for(error), type(error).__name__) from error
        if error is not None:
            raise error

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update) and context.error is not None:
            self._failures[update.update_id] = context.error

    async def _on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat and update.effective_user:
            if await self._store.telegram_msisdn(update.effective_user.id) is None \
                    and await self._unbound_flood(update.effective_user.id, update.update_id):
                return
            await self._ask_for_contact(update.effective_chat.id, "telegram.share_phone",
                                        _language_of(update.effective_user))

    async def _on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or message.contact is None or user is None:
            return
        lang = _language_of(user)
        if await self._store.telegram_msisdn(user.id) is None and await self._unbound_flood(user.id, update.update_id):
            return
        if message.contact.user_id != user.id:
            # Anyone can send someone else's contact card; only one's own proves the phone is theirs.
            await self._ask_for_contact(message.chat_id, "telegram.contact_foreign", lang)
            return
        msisdn = _msisdn(message.contact.phone_number)
        dialog = await self._waiting_dialog(msisdn) if msisdn else None
        if msisdn is None or dialog is None:
            await self._say(message.chat_id, "telegram.contact_unknown", lang, ReplyKeyboardRemove())
            return
        await self._store.bind_telegram(user.id, message.chat_id, msisdn)
        log.info("telegram: a chat is bound to %s", mask_msisdn(msisdn))
        await self._say(message.chat_id, "telegram.bound", dialog.language or lang, ReplyKeyboardRemove())
        await self._engine().run(Repeat(msisdn, self.name, note={"type": "channel", "action": "telegram_bound"}))

    async def _on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message, user = update.effective_message, update.effective_user
        if message is None or message.text is None or user is None:
            return
        msisdn = await self._store.telegram_msisdn(user.id)
        if msisdn is None:
            if not await self._unbound_flood(user.id, update.update_id):
                await self._ask_for_contact(message.chat_id, "telegram.not_bound", _language_of(user))
            return
        await self._take(Inbound(self.name, msisdn, message.text[:2000], f"tg:{update.update_id}", message.date))

    async def _on_press(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query, user, chat = update.callback_query, update.effective_user, update.effective_chat
        if query is None or user is None:
            return
        msisdn = await self._store.telegram_msisdn(user.id)
        if msisdn is None:
            await query.answer()
            if chat is not None and not await self._unbound_flood(user.id, update.update_id):
                await self._ask_for_contact(chat.id, "telegram.not_bound", _language_of(user))
            return
        dialog = await self._waiting_dialog(msisdn)
        language = dialog.language if dialog else _language_of(user)
        button = tapped(query.data or "")
        if button is None or dialog is None or dialog.dialog_id != button[1].dialog_id \
                or dialog.state not in button[1].states:
            # An earlier question's button, a finished dialog's, or another dialog's of this phone.
            log.info("telegram: a tap from %s on a closed question; nothing changed", mask_msisdn(msisdn))
            await query.answer(self._text("telegram.stale_button", language))
            return
        reply, question = button
        # The worker's judgement (dialogs/answers.py) under the phone's lock settles a double tap or an answer
        # that arrived meanwhile elsewhere: the tap then meets a closed question, or is a copy.
        done = await self._take(Inbound(self.name, msisdn, reply, f"tg:{update.update_id}", question=question))
        if done is not None and done.get("verdict") in (Verdict.CLOSED, Verdict.DUPLICATE):
            await query.answer(self._text("telegram.stale_button", language))
            return
        # After the answer is taken (or queued: kept, and done later): a failure here makes Telegram redeliver,
        # deduplicated by the update's id.
        await query.answer()

    async def _unbound_flood(self, user_id: int, update_id: int) -> bool:
        """A user bound to no phone is rate-limited like a phone (INBOUND_PER_MINUTE): past it, no answer."""
        engine = self._engine()
        count, _ = await self._store.count_inbound(f"telegram-user-{user_id}", engine.clock.now(),
                                                   f"telegram:{update_id}")
        if count > engine.settings.inbound_per_minute:
            log.warning("telegram: an unbound user sends too fast; update %s not answered", update_id)
            return True
        return False

    async def _waiting_dialog(self, msisdn: str) -> Dialog | None:
        active = await self._store.phone_active(msisdn)
        dialog = await self._store.load(active) if active else None
        return dialog if dialog is not None and dialog.awaiting else None

    # ---- out -----------------------------------------------------------------------------------

    async def send(self, message: Outbound) -> Receipt:
        chat_id = await self._store.telegram_chat(message.msisdn)
        if chat_id is None:
            raise SendError(SendFailure.BAD_CONFIG, "no Telegram chat is bound to this phone")
        await self._ready()
        try:
            markup = self._buttons.for_message(message.msg_id, message.language or "kk",
                                               dialog_id_of(message.client_id))
            sent = await self.application.bot.send_message(chat_id, message.text, reply_markup=markup)
        except TelegramError as error:
            raise SendError(failure_for(error), type(error).__name__) from error  # its text may name the token
        return Receipt(f"tg-{chat_id}-{sent.message_id}")

    def _text(self, msg_id: str, lang: str | None) -> str:
        """A catalog text; before we know the citizen's language, Kazakh then Russian."""
        if lang is not None:
            return self._translator.render(msg_id, lang)
        return "\n\n".join(self._translator.render(msg_id, code) for code in LANGUAGES)

    async def _say(self, chat_id: int, msg_id: str, lang: str | None, markup: Markup | None = None) -> None:
        await self.application.bot.send_message(chat_id, self._text(msg_id, lang), reply_markup=markup)

    async def _ask_for_contact(self, chat_id: int, msg_id: str, lang: str | None) -> None:
        await self._say(chat_id, msg_id, lang, self._buttons.share_phone(lang))


def _language_of(user: User) -> str | None:
    """The user's app language when it is one of ours; else unknown."""
    code = (user.language_code or "").lower()
    return next((lang for lang in LANGUAGES if code.startswith(lang)), None)


def _msisdn(phone_number: str) -> str | None:
    try:
        return parse_msisdn(phone_number).e164
    except PhoneError:
        return None


# ---- the webhook ----------------------------------------------------------------------------------

TELEGRAM = web.AppKey("telegram", TelegramChannel)


async def post_webhook(request: web.Request) -> web.Response:
    """Telegram delivers one update; answered after it has been handled, so a failure makes Telegram retry."""
    channel = request.app[TELEGRAM]
    if not channel.secret_ok(request.headers.get(SECRET_HEADER, "")):
        return unauthorized(f"{SECRET_HEADER} is missing or wrong")
    body = await read_body(request, request.app[SETTINGS].max_body_bytes)
    data = body if isinstance(body, web.Response) else parse_json(body)
    if isinstance(data, web.Response):
        return data
    try:
        update = channel.parse(data)
    except ValueError as error:
        return errors(422, ("$", "invalid", str(error)))
    try:
        await channel.handle(update)
    except SendError as error:
        log.warning("telegram: update %s not fully handled: %s", update.update_id, error)
        if error.failure.retryable:  # else a redelivery would fail the same way (a blocked bot, a gone chat)
            return errors(503, ("$", "telegram_unavailable", "the Bot API is unreachable; try again"))
    return web.json_response({"ok": True})


async def lifecycle(app: web.Application) -> AsyncIterator[None]:
    """For `cleanup_ctx`: the channel starts on first use (`_ready`) and stops with the app."""
    yield
    await app[TELEGRAM].close()
