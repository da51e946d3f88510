"""A template submitted to POST /{version}/{waba_id}/message_templates, checked as Meta
checks it before review: its name, language, category, components and their examples.

Every refusal is code 100 in Meta's error shape; those Meta gives a subcode and a
user-facing title and text (an existing name and language, a missing example) carry them
too. What the mock does not model (named parameters, carousels, limited-time offers,
authentication templates' one-tap buttons) is refused with a clear `details`, never
accepted half-checked."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from mock_whatsapp.graph_errors import GraphError
from mock_whatsapp.templates import CATEGORIES, PLACEHOLDER, MessageTemplate

NAME = re.compile(r"^[a-z0-9_]{1,512}$")
# Meta's limits per component.
HEADER_MAX, BODY_MAX, FOOTER_MAX, BUTTON_TEXT_MAX, BUTTONS_MAX = 60, 1024, 60, 25, 10
HEADER_FORMATS = ("TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION")
BUTTON_TYPES = ("QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP")
# Meta's fixed body of an authentication template (its text is not the business's).
AUTHENTICATION_BODY = "*{{1}}* is your verification code."

# The language codes Meta accepts for templates, with the names its errors use.
LANGUAGES = {
    "af": "Afrikaans", "sq": "Albanian", "ar": "Arabic", "az": "Azerbaijani",
    "bn": "Bengali", "bg": "Bulgarian", "ca": "Catalan", "zh_CN": "Chinese (CHN)",
    "zh_HK": "Chinese (HKG)", "zh_TW": "Chinese (TAI)", "hr": "Croatian", "cs": "Czech",
    "da": "Danish", "nl": "Dutch", "en": "English", "en_GB": "English (UK)",
    "en_US": "English (US)", "et": "Estonian", "fil": "Filipino", "fi": "Finnish",
    "fr": "French", "ka": "Georgian", "de": "German", "el": "Greek", "gu": "Gujarati",
    "ha": "Hausa", "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian",
    "ga": "Irish", "it": "Italian", "ja": "Japanese", "kn": "Kannada", "kk": "Kazakh",
    "rw_RW": "Kinyarwanda", "ko": "Korean", "ky_KG": "Kyrgyz (Kyrgyzstan)", "lo": "Lao",
    "lv": "Latvian", "lt": "Lithuanian", "mk": "Macedonian", "ms": "Malay",
    "ml": "Malayalam", "mr": "Marathi", "nb": "Norwegian", "fa": "Persian", "pl": "Polish",
    "pt_BR": "Portuguese (BR)", "pt_PT": "Portuguese (POR)", "pa": "Punjabi",
    "ro": "Romanian", "ru": "Russian", "sr": "Serbian", "sk": "Slovak", "sl": "Slovenian",
    "es": "Spanish", "es_AR": "Spanish (ARG)", "es_ES": "Spanish (SPA)",
    "es_MX": "Spanish (MEX)", "sw": "Swahili", "sv": "Swedish", "ta": "Tamil",
    "te": "Telugu", "th": "Thai", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu",
    "uz": "Uzbek", "vi": "Vietnamese", "zu": "Zulu",
}  # fmt: skip


class TemplateError(GraphError):
    """A refused submission: Meta's error with, where Meta gives them, a subcode and the
    title and text meant for the person who wrote the template."""

    def __init__(
        self,
        details: str,
        subcode: int | None = None,
        user_title: str | None = None,
        user_msg: str | None = None,
    ) -> None:
        super().__init__(400, 100, "Invalid parameter", details)
        self.subcode, self.user_title, self.user_msg = subcode, user_title, user_msg

    def body(self) -> dict[str, Any]:
        body = super().body()
        error = body["error"]
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
            error["is_transient"] = False
        if self.user_title:
            error["error_user_title"] = self.user_title
        if self.user_msg:
            error["error_user_msg"] = self.user_msg
        return body


def duplicate(language: str) -> TemplateError:
    return TemplateError(
        "a template with this name already exists in this language",
        2388024,
        "Content in This Language Already Exists",
        f"There is already {LANGUAGES.get(language, language)} content for this template. "
        "You can create a new template and try again.",
    )


def missing_example(component: str) -> TemplateError:
    return TemplateError(
        f"component of type {component} is missing expected field(s) (example)",
        2388043,
        "Message template has missing example",
        f"The {component} has variables, so it needs an example of each for review.",
    )


def new_template_id() -> str:
    return str(10**15 + secrets.randbelow(9 * 10**15))


def submitted(waba_id: str, body: Any, now: datetime) -> MessageTemplate:
    """The template a submission asks for, PENDING review; or Meta's refusal."""
    if not isinstance(body, dict):
        raise TemplateError("the request body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise TemplateError(
            "name: a template name can only contain lowercase letters, digits and "
            "underscores (at most 512)"
        )
    language = body.get("language")
    if language not in LANGUAGES:
        raise TemplateError(f"language: {language!r} is not a language templates support")
    category = str(body.get("category", "")).upper()
    if category not in CATEGORIES:
        raise TemplateError(
            f"Param category must be one of {{{', '.join(CATEGORIES)}}} - got "
            f"{body.get('category')!r}"
        )
    if str(body.get("parameter_format", "POSITIONAL")).upper() != "POSITIONAL":
        raise TemplateError("parameter_format: named parameters are not supported by the mock")
    components = body.get("components")
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise TemplateError("components: a list of HEADER, BODY, FOOTER and BUTTONS objects")
    return MessageTemplate(
        id=new_template_id(),
        waba_id=waba_id,
        name=name,
        language=language,
        category=category,
        status="PENDING",
        components=_checked(components, category),
        created_at=now.isoformat(),
    )


def _checked(components: list[dict[str, Any]], category: str) -> list[dict[str, Any]]:
    """The components as Meta lists them (types in capitals), each checked."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for raw in components:
        component = {**raw, "type": str(raw.get("type", "")).upper()}
        kind = component["type"]
        if kind not in ("HEADER", "BODY", "FOOTER", "BUTTONS"):
            raise TemplateError(f"components: type {raw.get('type')!r} is not supported")
        if kind in seen:
            raise TemplateError(f"components: more than one {kind}")
        seen.add(kind)
        {"HEADER": _header, "BODY": _body, "FOOTER": _footer, "BUTTONS": _buttons}[kind](
            component, category
        )
        out.append(component)
    if "BODY" not in seen:
        raise TemplateError("components: a template needs a BODY")
    order = ("HEADER", "BODY", "FOOTER", "BUTTONS")
    return sorted(out, key=lambda c: order.index(c["type"]))


def _variables(text: str, where: str) -> int:
    """How many {{n}} the text has; they must be numbered 1, 2, … in order."""
    numbers = [int(n) for n in PLACEHOLDER.findall(text)]
    if numbers != list(range(1, len(numbers) + 1)):
        raise TemplateError(f"{where}: variables must be {{{{1}}}}, {{{{2}}}}, … in order")
    if "{{" in PLACEHOLDER.sub("", text):
        raise TemplateError(f"{where}: only numbered variables such as {{{{1}}}} are supported")
    return len(numbers)


def _text(component: dict[str, Any], where: str, limit: int) -> str:
    text = component.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TemplateError(f"{where}: text is required")
    if len(text) > limit:
        raise TemplateError(f"{where}: text is longer than {limit} characters")
    return text


def _header(component: dict[str, Any], category: str) -> None:
    fmt = str(component.get("format", "")).upper()
    if fmt not in HEADER_FORMATS:
        raise TemplateError(f"HEADER: format must be one of {', '.join(HEADER_FORMATS)}")
    component["format"] = fmt
    example = component.get("example") or {}
    if fmt == "TEXT":
        count = _variables(_text(component, "HEADER", HEADER_MAX), "HEADER")
        if count > 1:
            raise TemplateError("HEADER: a text header takes at most one variable")
        if count and len(example.get("header_text") or []) != count:
            raise missing_example("HEADER")
    elif fmt != "LOCATION" and not example.get("header_handle"):
        raise missing_example("HEADER")


def _body(component: dict[str, Any], category: str) -> None:
    if category == "AUTHENTICATION" and "text" not in component:
        component["text"] = AUTHENTICATION_BODY  # Meta writes it, with the code as {{1}}
        return
    count = _variables(_text(component, "BODY", BODY_MAX), "BODY")
    values = ((component.get("example") or {}).get("body_text") or [[]])[0]
    if count and len(values) != count:
        raise missing_example("BODY")


def _footer(component: dict[str, Any], category: str) -> None:
    if category == "AUTHENTICATION" and "text" not in component:
        return  # code_expiration_minutes: Meta words it
    if _variables(_text(component, "FOOTER", FOOTER_MAX), "FOOTER"):
        raise TemplateError("FOOTER: a footer cannot have variables")


def _buttons(component: dict[str, Any], category: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        raise TemplateError(f"BUTTONS: 1 to {BUTTONS_MAX} buttons")
    checked = []
    for i, raw in enumerate(buttons):
        button = {**raw, "type": str(raw.get("type", "")).upper()}
        kind, where = button["type"], f"BUTTONS[{i}]"
        if kind not in BUTTON_TYPES:
            raise TemplateError(f"{where}: type {raw.get('type')!r} is not supported")
        if kind not in ("COPY_CODE", "OTP"):  # Meta labels these itself
            _text(button, where, BUTTON_TEXT_MAX)
        if kind == "URL":
            url = button.get("url")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise TemplateError(f"{where}: url must be an http(s) URL")
            if _variables(url, where) and not button.get("example"):
                raise missing_example("BUTTONS")
        if kind == "PHONE_NUMBER" and not str(button.get("phone_number", "")).strip():
            raise TemplateError(f"{where}: phone_number is required")
        if kind == "COPY_CODE" and not button.get("example"):
            raise missing_example("BUTTONS")
        checked.append(button)
    component["buttons"] = checked
