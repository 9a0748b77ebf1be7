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
    "ABOUT_A_SECRET",
    "GLUED_SECRET_SUFFIXES",
    "KNOWN_TOKEN_SHAPES",
    "MASK",
    "NOT_SECRET_KEYS",
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
#: ``clientSecret``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ACCESS_KEY_ID``, ``GITHUB_PAT`` for a
#: personal access token), unless the name ends with
#: a word of :data:`ABOUT_A_SECRET`. ``PWD`` is one too, but only beside other words:
#: ``MYSQL_PWD`` is a password, ``PWD`` alone (and ``OLDPWD``) is the shell's working directory.
#: ``PASS`` is one only as the last word (``DB_PASS``, ``RABBITMQ_DEFAULT_PASS``; not
#: ``PASS_THROUGH``). ``KEY`` is not one after a word of :data:`NOT_SECRET_KEYS`
#: (``PUBLIC_KEY``, ``SORT_KEY``). ``SESSION`` is not one: ``XDG_SESSION_ID`` and ``SESSION_ID``
#: identify, and the secret ones say so (``AWS_SESSION_TOKEN``, ``SESSION_SECRET``,
#: ``SESSION_KEY``). ``TOKENS`` is not one either: ``MAX_NEW_TOKENS`` counts a model's tokens.
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
        "JWT",
        "KEY",
        "KEYFILE",
        "KEYS",
        "PASS",
        "PASSCODE",
        "PASSPHRASE",
        "PASSWD",
        "PASSWORD",
        "PASSWORDS",
        "PAT",
        "SALT",
        "SAS",
        "SECRET",
        "SECRETS",
        "SIGNATURE",
        "TOKEN",
        "WEBHOOK",
    }
)

#: Last words that make a name *about* a secret rather than the secret itself: where it is
#: (Docker's ``POSTGRES_PASSWORD_FILE``, ``AWS_SHARED_CREDENTIALS_FILE``, ``SSH_AUTH_SOCK``,
#: ``SSH_KEY_PATH``), what it is called or how it is made or checked (``API_KEY_NAME``,
#: ``AUTH_TYPE``, ``PASSWORD_POLICY``, ``TOKEN_TTL``, ``SIGNATURE_VERSION``), or whether it is
#: used (``WEBHOOK_ENABLED``). ``URL``, ``ID``, ``VALUE`` and ``CONFIG`` are not among them: a
#: webhook's URL is its secret, ``AWS_ACCESS_KEY_ID`` is treated as a credential, and
#: ``DOCKER_AUTH_CONFIG`` holds passwords.
ABOUT_A_SECRET: Final = frozenset(
    {
        "ALG",
        "ALGORITHM",
        "ARN",
        "AUDIENCE",
        "BACKEND",
        "COLUMN",
        "COUNT",
        "DELAY",
        "DIR",
        "DIRECTORY",
        "DIRS",
        "DISABLED",
        "DOMAIN",
        "ENABLED",
        "ENDPOINT",
        "EXPIRATION",
        "EXPIRES",
        "EXPIRY",
        "FIELD",
        "FILE",
        "FILES",
        "FORMAT",
        "HEADER",
        "HOST",
        "ISSUER",
        "KIND",
        "LEN",
        "LENGTH",
        "LIFETIME",
        "LIMIT",
        "LOCATION",
        "MAX",
        "METHOD",
        "MIN",
        "MODE",
        "NAME",
        "NAMES",
        "PATH",
        "PATHS",
        "POLICY",
        "PORT",
        "PREFIX",
        "PROVIDER",
        "REGION",
        "REQUIRED",
        "SCOPE",
        "SCOPES",
        "SIZE",
        "SOCK",
        "SOCKET",
        "STRATEGY",
        "SUFFIX",
        "TIMEOUT",
        "TTL",
        "TYPE",
        "VERSION",
    }
)

#: Words before ``KEY`` that name a key which is no secret: a public key, or a key of data
#: (``PARTITION_KEY``, ``CACHE_KEY``).
NOT_SECRET_KEYS: Final = frozenset(
    {"CACHE", "FOREIGN", "HOT", "PARTITION", "PRIMARY", "PUB", "PUBLIC", "SHARD", "SORT"}
)

#: Endings that make a word secret when glued to a prefix, as some tools spell their variables
#: (PostgreSQL's ``PGPASSWORD``, ``NPMTOKEN``). ``KEY`` and ``PASS`` are not among them:
#: ``MONKEY``, ``KEYBOARD`` and ``BYPASS`` are not secrets.
GLUED_SECRET_SUFFIXES: Final = (
    "ACCESSKEY",
    "ACCESSKEYID",
    "APIKEY",
    "AUTHKEY",
    "CREDENTIALS",
    "ENCRYPTIONKEY",
    "LICENSEKEY",
    "MASTERKEY",
    "PASSPHRASE",
    "PASSWD",
    "PASSWORD",
    "PRIVATEKEY",
    "SECRET",
    "SECRETKEY",
    "SIGNINGKEY",
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

    The name is read as words (:func:`name_words`; numbers at its end left out, so
    ``DB_PASS2`` ends with ``PASS``). It is a secret when one of its words is in
    :data:`SECRET_NAME_WORDS` (with the exceptions said there), when a word ends with one of
    :data:`GLUED_SECRET_SUFFIXES`, or when it holds one of :data:`SECRET_PHRASES`; but not when
    its last word is one of :data:`ABOUT_A_SECRET` (``PGPASSFILE``, ``TOKEN_TTL``).
    """
    words = name_words(name)
    end = len(words)
    while end > 1 and words[end - 1].isdigit():
        end -= 1
    words = words[:end]
    if len(words) > 1 and words[-1] in ABOUT_A_SECRET:
        return False
    last = len(words) - 1
    for index, word in enumerate(words):
        if word in SECRET_NAME_WORDS:
            if word == "PASS" and index != last:
                continue
            if word in {"KEY", "KEYS"} and index and words[index - 1] in NOT_SECRET_KEYS:
                continue
            return True
        if word == "PWD" and len(words) > 1:
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
# ``user:password@host`` after ``://`` whose password holds what ends an authority as written
# (an AWS secret key's ``/``, a ``?``, ``#``, a space, another ``@``): ``user:`` then anything but
# a port (digits, then the path, the query, a space or the end), up to the last ``@`` on that
# line (never past another ``://``). Such a URL is malformed; masking too much of it is better
# than showing part of its password.
_URL_RAW_PASSWORD: Final = lazy_pattern(
    rf"(?<=://)(?P<user>[^{_END}/?#@:\[\]]*):(?![0-9]+(?:[{_END}/?]|$)|$)"
    r"(?P<password>(?:(?!://)[^\r\n])*)@"
)
# ``user:password@host`` without a scheme, starting where a value starts (not inside a path).
_BARE_CREDENTIALS: Final = lazy_pattern(
    rf"(?<![^{_END}'\"(\[{{,;=<])(?P<user>[^{_END}:/@'\"]+):(?P<password>[^{_END}/@'\"]*)@(?P<host>[^{_END}@/'\"]+)"
)
# Schemes written without ``//`` whose ``scheme:user@host`` is an address, not credentials.
_ADDRESS_SCHEMES: Final = frozenset({"mailto", "sip", "sips", "xmpp", "im", "pres"})
# Schemes whose ``user@host`` names a login, with no password in it (SSH authenticates with
# keys): ``ssh://git@github.com/...`` and ``git+ssh://...`` show their user. With a password it
# is masked all the same. Elsewhere (``https``, ``postgres``, ``redis``, ...) a lone user may be
# a token (``https://<token>@host/simple``) and is masked.
_LOGIN_SCHEMES: Final = frozenset({"ssh", "sftp", "scp", "rsync"})
# The scheme just before a ``://``.
_SCHEME_BEFORE: Final = lazy_pattern(r"[A-Za-z][A-Za-z0-9+.\-]*$")
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
# ``key: value`` as HTTP headers and YAML write it (``X-Api-Key: ...``, ``PRIVATE-TOKEN: ...``,
# ``password: ...``): a space after the colon, as YAML needs, and a key that is a word of its
# own (not ``Class.field:``, not an image's ``name:tag``).
_HEADER_PAIR: Final = lazy_pattern(
    r"(?<![A-Za-z0-9_.\-/])(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)(?P<sep>:[ \t]+)"
    r"(?P<value>'[^'\n]*'|\"[^\"\n]*\"|[^\s'\",;)\]}]+)"
)
# HTTP credentials: ``Bearer <token>``, ``Basic <base64>``; in other cases only a credential
# that holds a digit, a symbol or a capital after a small letter (``bearer of bad news`` is prose).
_HTTP_CREDENTIALS: Final = lazy_pattern(
    r"\b(?P<kind>Bearer|Basic)(?P<space>\s+)[A-Za-z0-9._~+/\-]{8,}=*"
    r"|\b(?P<other>(?i:bearer|basic))(?P<gap>\s+)(?=[A-Za-z0-9._~+/\-]*(?:[0-9._~+/\-=]|[a-z][A-Z]))"
    r"[A-Za-z0-9._~+/\-]{8,}=*"
)
# An authorization header or parameter, whatever its scheme (GitHub's ``token ghp_...``):
# ``Authorization: ...``, ``authorization=...``.
_AUTHORIZATION_HEADER: Final = lazy_pattern(
    rf"(?P<name>\b(?:Proxy-)?Authorization['\"]?\s*[:=]\s*['\"]?)"
    rf"(?P<value>[^{_END}'\"]+(?:[ \t]+[^{_END}'\"]+)?)",
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


def _scheme_before(text: str, colon: int) -> str:
    """The scheme of the URL whose ``://`` starts at ``colon`` in ``text``, lower-cased."""
    found = _SCHEME_BEFORE().search(text, max(0, colon - 32), colon)
    return found[0].lower() if found else ""


def _is_login_scheme(scheme: str) -> bool:
    """Whether a URL of ``scheme`` names a login by its lone user (``git+ssh``, ``mysql+pymysql``:
    any part of a compound scheme)."""
    return any(part in _LOGIN_SCHEMES for part in scheme.split("+"))


def _mask_authority(match: re.Match[str]) -> str:
    authority = match["authority"]
    if "@" not in authority:
        return authority
    userinfo, _, host = authority.rpartition("@")
    if ":" not in userinfo and _is_login_scheme(_scheme_before(match.string, match.start() - 3)):
        return authority  # a login's user name: no secret
    if ":" in userinfo and (not host or userinfo.endswith(":")):
        # No host, or no password: the password goes on past a '/', '?' or '#' written raw
        # (masked to the last '@' by _URL_RAW_PASSWORD).
        return authority
    return f"{MASK}@{host}"


def _mask_bare(match: re.Match[str]) -> str:
    if _DIGEST().match(match["host"]):  # an image reference, ``name:tag@sha256:...``
        return match[0]
    if match["user"].lower() in _ADDRESS_SCHEMES:  # ``mailto:joe@example.com``
        return match[0]
    return f"{MASK}@{match['host']}"


# Values that stand for "a value goes here" in a message (``password=...``): nothing to hide.
_PLACEHOLDERS: Final = frozenset({"...", "\u2026", MASK})


def _masked_value(value: str) -> str:
    quote = value[0] if value[:1] in {"'", '"'} else ""
    return f"{quote}{MASK}{quote}"


def _mask_pair(match: re.Match[str]) -> str:
    key = match["key"].strip("'\"")
    if not is_secret_key(key) or match["value"].strip("'\"") in _PLACEHOLDERS:
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
        if "://" in text:
            text = _URL_RAW_PASSWORD().sub(f"{MASK}@", text)
        text = _BARE_CREDENTIALS().sub(_mask_bare, text)
    lowered = text.lower()
    if "uthorization" in lowered:
        text = _AUTHORIZATION_HEADER().sub(lambda m: f"{m['name']}{MASK}", text)
    if "=" in text:
        text = _KEY_VALUE().sub(_mask_pair, text)
    if ":" in text:
        text = _QUOTED_PAIR().sub(_mask_pair, text)
        text = _HEADER_PAIR().sub(_mask_pair, text)
    if "bearer" in lowered or "basic" in lowered:
        text = _HTTP_CREDENTIALS().sub(_mask_http, text)
    return text


def _mask_http(match: re.Match[str]) -> str:
    if match["kind"] is not None:
        return f"{match['kind']}{match['space']}{MASK}"
    return f"{match['other']}{match['gap']}{MASK}"
