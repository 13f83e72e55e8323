"""The Telegram Bot API as far as the bot uses it, and simulated Telegram users who type, tap and share contacts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.clock import Clock

from .common import (
    FieldErrors,
    Outbound,
    OutboundError,
    dump,
    error_response,
    iso,
    json_object,
    json_response,
    required_str,
    unprocessable,
)
from .settings import MocksSettings

WEBHOOK_PATH = "/v1/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_USER = {"id": 7000001414, "is_bot": True, "first_name": "1414", "username": "proactive_1414_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}
# Bot API parameters arrive as form fields; these carry JSON (numbers, objects), the rest are plain strings.
_JSON_FIELDS = frozenset({"chat_id", "reply_markup", "show_alert", "cache_time", "message_id"})


@dataclass
class TelegramUser:
    """A simulated Telegram user in a private chat with the bot (the chat id is the user id)."""

    user_id: int
    first_name: str = "Citizen"
    language_code: str | None = None
    blocked: bool = False  # the user blocked the bot: sending to them fails with 403
    messages: list[dict[str, Any]] = field(default_factory=list)  # what the bot sent this chat
    answers: list[dict[str, Any]] = field(default_factory=list)  # the bot's answers to button taps (pop-ups)

    def as_json(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> dict[str, Any]:
        return {"id": self.user_id, "type": "private", "first_name": self.first_name}


class BotApiError(Exception):
    """A Bot API method failed the way Telegram says so: an HTTP status and a description."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


class TelegramApi:
    """Answers the bot's Bot API calls and delivers the simulated users' updates to its webhook."""

    def __init__(self, settings: MocksSettings, clock: Clock, outbound: Outbound) -> None:
        self.settings = settings
        self.clock = clock
        self.outbound = outbound
        self.users: dict[int, TelegramUser] = {}
        self.deliveries: list[dict[str, Any]] = []  # every update posted to the bot, with its answer
        self.down = False  # while True every method answers 502, as Telegram's front end does in an outage
        self._seq = 0
        self._callbacks: dict[str, int] = {}  # callback_query id → user id

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def user(self, user_id: int) -> TelegramUser:
        return self.users.setdefault(user_id, TelegramUser(user_id))

    # ---- the Bot API ---------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """One Bot API method; its `result`, or BotApiError."""
        if self.down:
            raise BotApiError(502, "Bad Gateway")
        if method == "getMe":
            return BOT_USER
        if method == "sendMessage":
            return self._send_message(params)
        if method == "answerCallbackQuery":
            user_id = self._callbacks.get(str(params.get("callback_query_id")))
            if user_id is None:
                raise BotApiError(400, "Bad Request: query ID is invalid")
            self.users[user_id].answers.append({"text": params.get("text"), "at": iso(self.clock.now())})
            return True
        raise BotApiError(404, "Not Found: method not found")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id, text = params.get("chat_id"), params.get("text")
        if not isinstance(text, str) or not text:
            raise BotApiError(400, "Bad Request: message text is empty")
        user = self.users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:  # a bot cannot write first to someone who never wrote to it
            raise BotApiError(400, "Bad Request: chat not found")
        if user.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        raw_markup = params.get("reply_markup")
        markup: dict[str, Any] = raw_markup if isinstance(raw_markup, dict) else {}
        record = {
            "message_id": self._next(), "text": text, "at": iso(self.clock.now()),
            "buttons": [[{"text": b["text"], "data": b.get("callback_data")} for b in row]
                        for row in markup.get("inline_keyboard", [])],
            "keyboard": [[_reply_key(b) for b in row] for row in markup.get("keyboard", [])],
            "remove_keyboard": bool(markup.get("remove_keyboard")),
        }
        user.messages.append(record)
        result = {"message_id": record["message_id"], "date": self._date(), "chat": user.chat(), "from": BOT_USER,
                  "text": text}
        if markup.get("inline_keyboard"):
            result["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        return result

    async def handle_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.settings.telegram_token:
            return json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await _params(request)
        try:
            result = self.call(request.match_info["method"], params)
        except BotApiError as exc:
            body = {"ok": False, "error_code": exc.status, "description": exc.description}
            return json_response(body, status=exc.status)
        return json_response({"ok": True, "result": result})

    # ---- simulated users -----------------------------------------------------------------------

    def _date(self) -> int:
        return int(self.clock.now().timestamp())

    def _message(self, user: TelegramUser, **content: Any) -> dict[str, Any]:
        return {"message_id": self._next(), "date": self._date(), "chat": user.chat(), "from": user.as_json(),
                **content}

    def text_update(self, user: TelegramUser, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):  # Telegram apps mark a leading /command; the bot's command filter needs it
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": self._next(), "message": self._message(user, **content)}

    def contact_update(self, user: TelegramUser, phone_number: str, owner: int | None) -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": user.first_name}
        if owner is not None:
            contact["user_id"] = owner
        return {"update_id": self._next(), "message": self._message(user, contact=contact)}

    def press_update(self, user: TelegramUser, message: dict[str, Any], data: str) -> dict[str, Any]:
        query_id = str(self._next())
        self._callbacks[query_id] = user.user_id
        shown = {"message_id": message["message_id"], "date": self._date(), "chat": user.chat(), "from": BOT_USER,
                 "text": message["text"]}
        return {"update_id": self._next(), "callback_query": {
            "id": query_id, "from": user.as_json(), "chat_instance": f"ci-{user.user_id}", "data": data,
            "message": shown}}

    async def deliver(self, user: TelegramUser, update: dict[str, Any], secret: str | None = None) -> web.Response:
        """Post an update to the bot's webhook and wait for its answer; show what the bot said meanwhile."""
        seen, answered = len(user.messages), len(user.answers)
        headers = {SECRET_HEADER: self.settings.telegram_secret if secret is None else secret}
        try:
            status, text = await self.outbound.post(self.settings.bot(WEBHOOK_PATH), dump(update), headers)
        except OutboundError as exc:
            return error_response(502, "bot_unreachable", reason=str(exc))
        self.deliveries.append({"update": update, "status": status})
        if not 200 <= status < 300:
            return error_response(502, "bot_error", status=status, reason=text[:300])
        return json_response({"update_id": update["update_id"], "replies": user.messages[seen:],
                              "answers": user.answers[answered:]})

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/telegram/bot{token}/{method}", self.handle_method),
            web.post("/telegram/state", self.handle_api_state),
            web.get("/telegram/users/{user_id}/messages", self.handle_messages),
            web.post("/telegram/users/{user_id}/start", self.handle_start),
            web.post("/telegram/users/{user_id}/text", self.handle_text),
            web.post("/telegram/users/{user_id}/contact", self.handle_contact),
            web.post("/telegram/users/{user_id}/press", self.handle_press),
            web.post("/telegram/users/{user_id}/state", self.handle_state),
        ]

    async def _acting(self, request: web.Request) -> tuple[TelegramUser, dict[str, Any], str | None]:
        """The user in the path (profile updated from the body), the body, and a secret to send instead."""
        user = self.user(_path_user_id(request))
        body = await json_object(request) if request.can_read_body else {}
        if isinstance(body.get("first_name"), str) and body["first_name"]:
            user.first_name = body["first_name"]
        if isinstance(body.get("language_code"), str):
            user.language_code = body["language_code"] or None
        secret = body.get("secret_token")
        return user, body, secret if isinstance(secret, str) else None

    async def handle_messages(self, request: web.Request) -> web.Response:
        user = self.users.get(_path_user_id(request))
        return json_response(user.messages if user else [])

    async def handle_start(self, request: web.Request) -> web.Response:
        user, _, secret = await self._acting(request)
        return await self.deliver(user, self.text_update(user, "/start"), secret)

    async def handle_text(self, request: web.Request) -> web.Response:
        user, body, secret = await self._acting(request)
        errors = FieldErrors()
        text = required_str(body, "text", errors, max_len=4096)
        errors.raise_if_any()
        return await self.deliver(user, self.text_update(user, text), secret)

    async def handle_contact(self, request: web.Request) -> web.Response:
        user, body, secret = await self._acting(request)
        errors = FieldErrors()
        phone = required_str(body, "phone_number", errors, max_len=32)
        owner = body.get("user_id", user.user_id)  # absent: their own card; null: a card with no Telegram user
        if owner is not None and (isinstance(owner, bool) or not isinstance(owner, int)):
            errors.add("user_id", "type", "user_id must be an integer or null")
        errors.raise_if_any()
        return await self.deliver(user, self.contact_update(user, phone, owner), secret)

    async def handle_press(self, request: web.Request) -> web.Response:
        user, body, secret = await self._acting(request)
        errors = FieldErrors()
        data = required_str(body, "data", errors, max_len=64)
        wanted = body.get("message_id")
        errors.raise_if_any()
        with_buttons = [m for m in user.messages if m["buttons"] and wanted in (None, m["message_id"])]
        if not with_buttons:
            return error_response(409, "no_buttons", message="no message of the bot to this chat has those buttons")
        message = with_buttons[-1]  # the newest, unless message_id names another
        if data not in [b["data"] for row in message["buttons"] for b in row]:
            return error_response(409, "no_such_button", message_id=message["message_id"],
                                  buttons=message["buttons"])
        return await self.deliver(user, self.press_update(user, message, data), secret)

    async def handle_api_state(self, request: web.Request) -> web.Response:
        down = (await json_object(request)).get("down")
        if not isinstance(down, bool):
            raise unprocessable([{"field": "down", "code": "type", "message": "down must be true or false"}])
        self.down = down
        return json_response({"down": down})

    async def handle_state(self, request: web.Request) -> web.Response:
        user, body, _ = await self._acting(request)
        blocked = body.get("blocked")
        if not isinstance(blocked, bool):
            raise unprocessable([{"field": "blocked", "code": "type", "message": "blocked must be true or false"}])
        user.blocked = blocked
        return json_response({"user_id": user.user_id, "blocked": blocked})


def _reply_key(button: Any) -> dict[str, Any]:
    """A reply-keyboard button: plain text, or an object that may ask for the user's contact."""
    if isinstance(button, dict):
        return {"text": button.get("text"), "request_contact": bool(button.get("request_contact"))}
    return {"text": str(button), "request_contact": False}


async def _params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from a form (as python-telegram-bot posts them) or a JSON body."""
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    params: dict[str, Any] = {}
    for name, value in (await request.post()).items():
        if not isinstance(value, str):
            continue
        if name in _JSON_FIELDS:
            try:
                params[name] = json.loads(value)
                continue
            except json.JSONDecodeError:
                pass
        params[name] = value
    return params


def _path_user_id(request: web.Request) -> int:
    raw = request.match_info["user_id"]
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**52:
        raise unprocessable([{"field": "user_id", "code": "invalid", "message": "user_id must be a positive integer"}])
    return int(raw)


TELEGRAM_API = web.AppKey("telegram_api", TelegramApi)
