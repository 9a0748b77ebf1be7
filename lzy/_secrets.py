"""What counts as a secret, and how text is shown with its secrets masked.

This module is the bottom of lzy's layers: it imports nothing of lzy but :mod:`lzy._lazy`, so
:mod:`lzy.exceptions` can mask every message it carries and :mod:`lzy.env` every value it shows.

The rule for names (:func:`is_secret_name`) follows the conventions of the tools users run:
cloud SDKs (``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AZURE_CLIENT_SECRET``,
``GOOGLE_APPLICATION_CREDENTIALS``), database clients (``PGPASSWORD``, ``MYSQL_PWD``,
``REDIS_PASSWORD``), package managers (``TWINE_PASSWORD``, ``NPM_TOKEN``,
``UV_INDEX_<NAME>_PASSWORD``, ``POETRY_HTTP_BASIC_<NAME>_PASSWORD``), CI systems
(``GITHUB_TOKEN``, ``GH_TOKEN``, ``CI_JOB_TOKEN``) and code (``apiKey``, ``clientSecret``).

The rule for text (:func:`redact_text`) masks what a value carries whatever its name: the
credentials of every URL in it (``PIP_EXTRA_INDEX_URL`` holds several), ``user:password@host``
written without a scheme, secret-named parameters (``?token=...``, ``Password=...;``,
``"private_key": "..."``), HTTP credentials, and tokens whose shape says what they are
(``ghp_...``, ``AKIA...``, JSON Web Tokens, PEM private keys).
"""

from __future__ import annotations

import functools
import re
from typing import Final

from lzy._lazy import lazy_pattern

__all__ = [
    "GLUED_SECRET_SUFFIXES",
    "KNOWN_TOKEN_SHAPES",
    "MASK",
    "SECRET_NAME_WORDS",
    "SECRET_PHRASES",
    "is_secret_key",
    "is_secret_name",
    "name_words",
    "redact_text",
]


def __dir__() -> list[str]:
    return __all__


#: What a masked secret is shown as.
MASK: Final = "***"

#: Words that make a name secret wherever they stand in it (``HF_TOKEN``, ``db-password``,
#: ``clientSecret``, ``AWS_SECRET_ACCESS_KEY``). ``PWD`` is one too, but only beside other
#: words: ``MYSQL_PWD`` is a password, ``PWD`` alone (and ``OLDPWD``) is the shell's working
#: directory. ``SESSION`` is not one: ``XDG_SESSION_ID`` and ``SESSION_ID`` identify, and the
#: secret ones say so (``AWS_SESSION_TOKEN``, ``SESSION_SECRET``, ``SESSION_KEY``).
SECRET_NAME_WORDS: Final = frozenset(
    {
        "APIKEY",
        "AUTH",
        "AUTHORIZATION",
        "BEARER",
        "COOKIE",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "KEY",
        "KEYFILE",
        "KEYS",
        "PASS",
        "PASSCODE",
        "PASSPHRASE",
        "PASSWD",
        "PASSWORD",
        "PASSWORDS",
        "SALT",
        "SAS",
        "SECRET",
        "SECRETS",
        "SIGNATURE",
        "TOKEN",
        "WEBHOOK",
    }
)

#: Endings that make a word secret when glued to a prefix, as some tools spell their variables
#: (PostgreSQL's ``PGPASSWORD``, ``NPMTOKEN``). ``KEY`` and ``PASS`` are not among them:
#: ``MONKEY``, ``KEYBOARD`` and ``BYPASS`` are not secrets.
GLUED_SECRET_SUFFIXES: Final = (
    "ACCESSKEY",
    "APIKEY",
    "CREDENTIALS",
    "PASSPHRASE",
    "PASSWD",
    "PASSWORD",
    "PRIVATEKEY",
    "SECRET",
    "SECRETKEY",
    "TOKEN",
)

#: Runs of words that together make a name secret (``AZURE_STORAGE_CONNECTION_STRING`` holds
#: an account key).
SECRET_PHRASES: Final = (("CONNECTION", "STRING"), ("CONN", "STR"))

# Words of a name: runs of capitals before a capitalised word (``API`` in ``APIKey``), a
# capitalised or lower-case word, a run of capitals, or digits. Everything else separates.
_WORD: Final = lazy_pattern(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", re.ASCII)


def name_words(name: str) -> tuple[str, ...]:
    """The words of ``name``, upper-cased: split at anything that is not a letter or digit
    and between camel-case words (``clientSecret`` is ``CLIENT``, ``SECRET``)."""
    return tuple(word.upper() for word in _WORD().findall(name))


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a value called ``name`` (an environment variable, a field) is a secret.

    It is when one of its words is in :data:`SECRET_NAME_WORDS` (``PWD`` only beside other
    words), when a word ends with one of :data:`GLUED_SECRET_SUFFIXES`, or when it holds one of
    :data:`SECRET_PHRASES`.
    """
    words = name_words(name)
    for index, word in enumerate(words):
        if word in SECRET_NAME_WORDS or (word == "PWD" and len(words) > 1):
            return True
        if any(word.endswith(suffix) for suffix in GLUED_SECRET_SUFFIXES):
            return True
        for phrase in SECRET_PHRASES:
            if words[index : index + len(phrase)] == phrase:
                return True
    return False


def is_secret_key(key: str) -> bool:
    """Whether a parameter called ``key`` inside a value holds a secret: a secret name, or a
    name that is secret in that position (ODBC's ``PWD=``, Azure's ``sig=``)."""
    return is_secret_name(key) or key.upper() in {"PWD", "SIG"}


# What ends a URL in running text: ASCII white space only, so that a password holding any
# other character (a control, a Unicode space) is masked whole rather than cut short.
_END = r" \t\n\r\x0b\x0c"
# The authority after any ``://`` (up to the path, query, fragment or a space). Matched by
# look-behind so that URLs joined by a comma (``https://u:p@h1,https://u:q@h2``) are each masked:
# the second ``://`` may lie inside the first URL's authority.
_URL_AUTHORITY: Final = lazy_pattern(rf"(?<=://)(?P<authority>[^{_END}/?#]*)")
# ``user:password@host`` without a scheme, starting where a value starts (not inside a path).
_BARE_CREDENTIALS: Final = lazy_pattern(
    rf"(?<![^{_END}'\"(\[{{,;=<])(?P<user>[^{_END}:/@'\"]+):(?P<password>[^{_END}/@'\"]*)@(?P<host>[^{_END}@/'\"]+)"
)
# What follows the ``@`` of a container image reference's digest (``name:tag@sha256:...``).
_DIGEST: Final = lazy_pattern(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
# ``key=value`` (query strings, connection strings, command lines), the value quoted or not.
_KEY_VALUE: Final = lazy_pattern(
    r"(?<![A-Za-z0-9_])(?P<key>[A-Za-z_][A-Za-z0-9_.\-]*)(?P<sep>\s*=\s*)"
    r"(?P<value>'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\"|[^\s&;,'\")\]}]+)"
)
# ``"key": "value"`` (JSON, Python reprs of dictionaries).
_QUOTED_PAIR: Final = lazy_pattern(
    r"(?P<key>'[^'\s]+'|\"[^\"\s]+\")(?P<sep>\s*:\s*)"
    r"(?P<value>'[^'\\]*(?:\\.[^'\\]*)*'|\"[^\"\\]*(?:\\.[^\"\\]*)*\")"
)
# HTTP credentials: ``Bearer <token>``, ``Basic <base64>``.
_HTTP_CREDENTIALS: Final = lazy_pattern(r"\b(?P<kind>Bearer|Basic)(?P<space>\s+)[A-Za-z0-9._~+/\-]{8,}=*")
# An authorization header, whatever its scheme (GitHub's ``token ghp_...``).
_AUTHORIZATION_HEADER: Final = lazy_pattern(
    rf"(?P<name>\b(?:Proxy-)?Authorization\s*:\s*)(?P<value>[^{_END}'\"]+(?:[ \t]+[^{_END}'\"]+)?)",
    re.IGNORECASE,
)
#: Tokens whose shape says what they are, whatever their name, as secret scanners know them:
#: GitHub, GitLab, Slack, AWS access key IDs, OpenAI and Anthropic, Hugging Face, Google API
#: keys, Stripe, npm, PyPI, JSON Web Tokens and PEM private keys.
KNOWN_TOKEN_SHAPES: Final = (
    r"gh[pousr]_[A-Za-z0-9]{30,}",
    r"github_pat_[A-Za-z0-9_]{22,}",
    r"glpat-[A-Za-z0-9_\-]{20,}",
    r"xox[abposr]-[A-Za-z0-9\-]{10,}",
    r"(?:AKIA|ASIA)[0-9A-Z]{16}",
    r"sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}",
    r"hf_[A-Za-z0-9]{30,}",
    r"AIza[0-9A-Za-z_\-]{35}",
    r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"npm_[A-Za-z0-9]{36}",
    r"pypi-[A-Za-z0-9_\-]{50,}",
    r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)",
)
_KNOWN_TOKEN: Final = lazy_pattern(rf"(?<![A-Za-z0-9_\-])(?:{'|'.join(KNOWN_TOKEN_SHAPES)})", re.DOTALL)
# How each shape starts: text holding none of these is not searched for whole tokens.
_TOKEN_START: Final = lazy_pattern(
    r"gh[pousr]_|github_pat_|glpat-|xox|AKIA|ASIA|sk-|hf_|AIza|k_live_|k_test_|npm_|pypi-|eyJ|-----BEGIN"
)


def _mask_authority(match: re.Match[str]) -> str:
    authority = match["authority"]
    if "@" not in authority:
        return authority
    return f"{MASK}@{authority.rpartition('@')[2]}"


def _mask_bare(match: re.Match[str]) -> str:
    if _DIGEST().match(match["host"]):  # an image reference, ``name:tag@sha256:...``
        return match[0]
    return f"{MASK}@{match['host']}"


def _masked_value(value: str) -> str:
    quote = value[0] if value[:1] in {"'", '"'} else ""
    return f"{quote}{MASK}{quote}"


def _mask_pair(match: re.Match[str]) -> str:
    key = match["key"].strip("'\"")
    if not is_secret_key(key):
        return match[0]
    return f"{match['key']}{match['sep']}{_masked_value(match['value'])}"


def redact_text(text: str) -> str:
    """``text`` with the secrets it carries masked as ``***``.

    Masked: the user name and password of every URL (``https://***@host/``), a
    ``user:password@host`` without a scheme, the value of every secret-named parameter
    (``token=***``, ``Password=***;``, ``"api_key": "***"``), HTTP credentials (``Bearer``,
    ``Basic``, an ``Authorization:`` header) and tokens of a known shape
    (:data:`KNOWN_TOKEN_SHAPES`). Never raises: text that holds none is returned as it is.
    """
    # Each pass runs only when the text holds what it looks for: most text holds none.
    if _TOKEN_START().search(text):
        text = _KNOWN_TOKEN().sub(MASK, text)
    if "@" in text:
        text = _URL_AUTHORITY().sub(_mask_authority, text)
        text = _BARE_CREDENTIALS().sub(_mask_bare, text)
    if "=" in text:
        text = _KEY_VALUE().sub(_mask_pair, text)
    if ":" in text:
        text = _QUOTED_PAIR().sub(_mask_pair, text)
        if "uthorization" in text or "UTHORIZATION" in text:
            text = _AUTHORIZATION_HEADER().sub(lambda m: f"{m['name']}{MASK}", text)
    if "Bearer" in text or "Basic" in text:
        text = _HTTP_CREDENTIALS().sub(lambda m: f"{m['kind']}{m['space']}{MASK}", text)
    return text
