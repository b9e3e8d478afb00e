"""Reading a page's forms as a browser does: each form's action, method and the fields it
would send if its button were pressed without changing anything (checked boxes only, a
select's selected options — else its first —, textareas' text, hidden fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)  # the labels of its submit buttons
    enctype: str = ""
    types: dict[str, str] = field(default_factory=dict)  # input name → type (text, date, …)

    @property
    def path(self) -> str:
        """The path the form sends to (no host, no query): what the url map matches."""
        return urlsplit(self.action).path or "/"

    def data(self, **changes: str) -> dict[str, Any]:
        """What pressing its button sends (repeated names as lists), with `changes` applied."""
        sent: dict[str, Any] = {}
        for name, value in self.fields:
            if name in sent:
                sent[name] = (
                    [*sent[name], value] if isinstance(sent[name], list) else [sent[name], value]
                )
            else:
                sent[name] = value
        sent.update(changes)
        return sent


class _Parser(HTMLParser):
    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: dict[str, Any] | None = None
        self._option: dict[str, Any] | None = None
        self._textarea: dict[str, Any] | None = None
        self._button: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            action = urljoin(self.page_url, a.get("action") or self.page_url)
            self._form = Form(
                action, (a.get("method") or "get").upper(), enctype=a.get("enctype", "")
            )
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "disabled" in a:
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if name:
                form.types[name] = kind
            if kind in ("submit", "image"):
                form.buttons.append(a.get("value", ""))
                if name:
                    form.fields.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                if "checked" in a and name:
                    form.fields.append((name, a.get("value", "on")))
            elif kind not in ("file", "reset", "button") and name:
                form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            form.types[name] = "select"
            self._select = {"name": name, "options": [], "multiple": "multiple" in a}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "text": "", "selected": "selected" in a}
            self._select["options"].append(self._option)
        elif tag == "textarea" and name:
            form.types[name] = "textarea"
            self._textarea = {"name": name, "text": ""}
        elif tag == "button" and a.get("type", "submit").lower() == "submit":
            self._button = {"name": name, "value": a.get("value", ""), "text": ""}

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option["text"] += data
        if self._textarea is not None:
            self._textarea["text"] += data
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag: str) -> None:
        form = self._form
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None and form is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not chosen and options and not self._select["multiple"]:
                chosen = options[:1]
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"].strip()
                form.fields.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and form is not None:
            text = self._textarea["text"]
            form.fields.append(
                (self._textarea["name"], text[1:] if text.startswith("\n") else text)
            )
            self._textarea = None
        elif tag == "button" and self._button is not None:
            if form is not None:
                form.buttons.append(self._button["text"].strip())
            self._button = None


def forms(html: str, page_url: str) -> list[Form]:
    """The forms of a page, in order."""
    parser = _Parser(page_url)
    parser.feed(html)
    return parser.forms


def form_to(html: str, page_url: str, action: str) -> Form:
    """The page's form that posts to `action` (a path)."""
    found = [f for f in forms(html, page_url) if f.action.endswith(action)]
    assert found, f"no form posting to {action} on {page_url}"
    return found[0]
