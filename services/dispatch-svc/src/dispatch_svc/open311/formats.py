"""Rendering GeoReport v2 answers: JSON arrays or XML documents with the spec's element names, and its error format."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from fastapi import Request
from fastapi.responses import JSONResponse, Response

FORMATS = {"json": "application/json", "xml": "text/xml"}

# Containers whose children repeat under a singular tag, as the spec's XML examples have it.
_SINGULAR = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


class Open311Error(Exception):
    """An error answered in GeoReport's format: a list of {code, description}."""

    def __init__(self, status: int, description: str, fmt: str = "json") -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.fmt = fmt if fmt in FORMATS else "json"


def fmt_of(request: Request) -> str:
    """The format asked for by the path's extension ('json' when unknown, for the error itself)."""
    fmt = request.path_params.get("fmt", "json")
    return fmt if fmt in FORMATS else "json"


def check_format(fmt: str) -> str:
    """The format if the spec knows it, else a 404 in JSON."""
    if fmt not in FORMATS:
        raise Open311Error(404, f"unknown format .{fmt}; use .json or .xml", "json")
    return fmt


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: Element, key: str, value: Any) -> None:
    element = SubElement(parent, key)
    if isinstance(value, dict):
        for child_key, child_value in value.items():
            _fill(element, child_key, child_value)
    elif isinstance(value, list):
        tag = _SINGULAR.get(key, "item")
        for item in value:
            if isinstance(item, dict):
                child = SubElement(element, tag)
                for child_key, child_value in item.items():
                    _fill(child, child_key, child_value)
            else:
                SubElement(element, tag).text = _text(item)
    else:
        element.text = _text(value)


def xml_document(root: str, item_tag: str | None, payload: list[dict] | dict) -> bytes:
    """An XML document: `<root><item_tag>…</item_tag>…</root>` for lists, `<root>…</root>` for one object."""
    document = Element(root)
    if isinstance(payload, dict):
        for key, value in payload.items():
            _fill(document, key, value)
    else:
        for item in payload:
            element = SubElement(document, item_tag or "item")
            for key, value in item.items():
                _fill(element, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(document, encoding="unicode").encode()


def render(fmt: str, payload: list[dict] | dict, *, root: str, item_tag: str | None = None, status_code: int = 200) -> Response:
    """Answer `payload` in the asked format."""
    if fmt == "xml":
        return Response(xml_document(root, item_tag, payload), status_code=status_code, media_type="text/xml; charset=utf-8")
    return JSONResponse(payload, status_code=status_code)


def error_response(error: Open311Error) -> Response:
    """GeoReport's error body with the matching HTTP status."""
    payload = [{"code": error.status, "description": error.description}]
    return render(error.fmt, payload, root="errors", item_tag="error", status_code=error.status)
