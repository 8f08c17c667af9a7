"""Request bodies: JSON the engine can store, or a 400 like any other malformed JSON (a 415 when not JSON).

Python's JSON reader accepts a few things the engine cannot use and then fails on later, as a 500:
nesting deeper than the interpreter's recursion limit, integers too long to convert, and `\\ud800`-style
escapes of lone surrogates, which are not Unicode text and cannot be encoded, hashed or stored. The
blueprints use this parser, so such a body is refused before any of it is read.
"""

from __future__ import annotations

import json
from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from api.schemas import OneOfSchema


class JsonBodyParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req) and req.get_data(cache=True):
            # webargs would read a form or text body as no body at all: a command whose fields are all optional
            # then ran as if nothing had been sent, and one with required fields named them all as missing.
            flask.abort(415, description=f"send the body as application/json, not {req.mimetype or 'untyped'}")
        try:
            data = super()._raw_load_json(req)
            if data is not core.missing:
                _check_text(data)
            return data
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as error:  # ValueError covers UnicodeEncodeError
            raise json.JSONDecodeError(f"unreadable JSON ({type(error).__name__})", "<body>", 0) from None


def _check_text(value: Any) -> None:
    """Every string (keys included) is Unicode text: encoding fails on a lone surrogate."""
    if isinstance(value, str):
        value.encode("utf-8")
    elif isinstance(value, dict):
        for key, item in value.items():
            key.encode("utf-8")
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the stricter JSON body parser, documenting a OneOfSchema response as oneOf.

    `unknown=None` lets each schema decide what an unknown field is: webargs would otherwise drop unknown
    query parameters without a word, so `GET /cases?stge=filed` (a typo) listed every case instead of
    naming the bad parameter as the Strict query schemas mean to.
    """

    ARGUMENTS_PARSER = JsonBodyParser(unknown=None)

    def arguments(self, schema: Any, **kwargs: Any) -> Any:
        """Each request's arguments are loaded with one instance of `schema`, made here: given a class, webargs
        would build a new instance (copying every field) for each request. A schema holds nothing of what it loads."""
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)

    @staticmethod
    def _make_doc_response_schema(schema: Any) -> Any:
        """A response that is one of several schemas (a case of any type) is documented as their oneOf."""
        return schema.openapi() if isinstance(schema, OneOfSchema) else schema
