"""Secrets: which names are secret, how text is masked, and a canary on every surface."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import urllib.parse
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import packaging.version
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lzy._secrets import (
    ABOUT_A_SECRET,
    GLUED_SECRET_SUFFIXES,
    SECRET_NAME_WORDS,
    is_secret_name,
    redact_text,
)
from lzy.api.v1 import LocalRuntime, Lzy, op
from lzy.api.v1.env import (
    AutoPythonEnv,
    DockerContainer,
    EffectiveEnv,
    Env,
    EnvExplorer,
    Exploration,
    Level,
    ManualPythonEnv,
    OnlyLocalPythonEnv,
    Provisioning,
    ResolvedEnv,
)
from lzy.exceptions import LzyError, LzyWarning

from .log_capture import every_log_record, shown

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:cloudpickle")

#: The secret every test below hides somewhere and then looks for.
CANARY = "c4nary-S3CRET-9f2e"

# -- the name rule -------------------------------------------------------------------------------

#: Real variable names of the tools users run, and whether each holds a secret.
REAL_NAMES: list[tuple[str, bool]] = [
    # Cloud SDKs.
    ("AWS_SECRET_ACCESS_KEY", True),
    ("AWS_SESSION_TOKEN", True),
    ("AWS_SECURITY_TOKEN", True),
    ("AWS_ACCESS_KEY_ID", True),
    ("AZURE_CLIENT_SECRET", True),
    ("AZURE_CLIENT_CERTIFICATE_PASSWORD", True),
    ("AZURE_STORAGE_KEY", True),
    ("AZURE_STORAGE_SAS_TOKEN", True),
    ("AZURE_STORAGE_CONNECTION_STRING", True),
    ("ARM_CLIENT_SECRET", True),
    ("GOOGLE_APPLICATION_CREDENTIALS", True),
    ("GOOGLE_API_KEY", True),
    ("DIGITALOCEAN_ACCESS_TOKEN", True),
    ("CLOUDFLARE_API_TOKEN", True),
    ("HF_TOKEN", True),
    ("HUGGING_FACE_HUB_TOKEN", True),
    ("OPENAI_API_KEY", True),
    ("ANTHROPIC_API_KEY", True),
    ("WANDB_API_KEY", True),
    ("KAGGLE_KEY", True),
    ("VAULT_TOKEN", True),
    ("SLACK_WEBHOOK_URL", True),
    ("STRIPE_SECRET_KEY", True),
    ("AWS_SECRET_KEY", True),
    ("AZURE_OPENAI_API_KEY", True),
    ("AZURE_STORAGE_ACCOUNT_KEY", True),
    ("AZURE_DEVOPS_EXT_PAT", True),
    ("GITHUB_PAT", True),
    ("GOOGLE_CLIENT_SECRET", True),
    ("GOOGLE_CLOUD_KEYFILE_JSON", True),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", True),
    ("OCI_CLI_KEY_CONTENT", True),
    ("SCW_SECRET_KEY", True),
    ("LINODE_TOKEN", True),
    ("HCLOUD_TOKEN", True),
    ("COHERE_API_KEY", True),
    ("MISTRAL_API_KEY", True),
    ("REPLICATE_API_TOKEN", True),
    ("PINECONE_API_KEY", True),
    ("COMET_API_KEY", True),
    ("NEPTUNE_API_TOKEN", True),
    ("MLFLOW_TRACKING_PASSWORD", True),
    ("MLFLOW_TRACKING_TOKEN", True),
    ("SENTRY_AUTH_TOKEN", True),
    ("DATADOG_API_KEY", True),
    ("DD_APP_KEY", True),
    ("NEW_RELIC_LICENSE_KEY", True),
    ("PAGERDUTY_ROUTING_KEY", True),
    ("TWILIO_AUTH_TOKEN", True),
    ("SENDGRID_API_KEY", True),
    ("MAILGUN_API_KEY", True),
    ("JWT_SECRET", True),
    ("JWT", True),
    ("SUPABASE_JWT", True),
    ("DJANGO_SECRET_KEY", True),
    ("SECRET_KEY_BASE", True),
    ("FLASK_SECRET_KEY", True),
    ("NEXTAUTH_SECRET", True),
    ("ENCRYPTION_KEY", True),
    ("FERNET_KEY", True),
    ("SIGNING_KEY", True),
    ("MASTER_KEY", True),
    ("SSL_KEY_PASSWORD", True),
    ("SSH_PRIVATE_KEY", True),
    ("GPG_PASSPHRASE", True),
    ("BASIC_AUTH", True),
    ("HTTP_AUTHORIZATION", True),
    ("SESSION_COOKIE", True),
    ("AWS_ACCESS_KEY_ID", True),
    ("awsAccessKeyId", True),
    ("AWSACCESSKEYID", True),
    # Databases.
    ("PGPASSWORD", True),
    ("MYSQL_PWD", True),
    ("MYSQL_ROOT_PASSWORD", True),
    ("POSTGRES_PASSWORD", True),
    ("REDIS_PASSWORD", True),
    ("MONGO_INITDB_ROOT_PASSWORD", True),
    ("RABBITMQ_DEFAULT_PASS", True),
    ("DB_PASS", True),
    ("db-password", True),
    ("DB_PASS2", True),
    ("MARIADB_ROOT_PASSWORD", True),
    ("MSSQL_SA_PASSWORD", True),
    ("SA_PASSWORD", True),
    ("ORACLE_PWD", True),
    ("NEO4J_AUTH", True),
    ("INFLUXDB_TOKEN", True),
    ("CLICKHOUSE_PASSWORD", True),
    ("ELASTIC_PASSWORD", True),
    ("KAFKA_SASL_PASSWORD", True),
    ("SPRING_DATASOURCE_PASSWORD", True),
    ("spring.datasource.password", True),
    ("SMTP_PASS", True),
    ("MAIL_PASS", True),
    ("dbPass", True),
    ("MY__SECRET", True),
    ("my__db__password", True),
    # Package managers.
    ("TWINE_PASSWORD", True),
    ("NPM_TOKEN", True),
    ("NODE_AUTH_TOKEN", True),
    ("NPM_CONFIG__AUTH", True),
    ("UV_INDEX_PRIVATE_REGISTRY_PASSWORD", True),
    ("UV_PUBLISH_TOKEN", True),
    ("POETRY_HTTP_BASIC_PYPI_PASSWORD", True),
    ("POETRY_PYPI_TOKEN_PYPI", True),
    ("CARGO_REGISTRY_TOKEN", True),
    ("ARTIFACTORY_API_KEY", True),
    ("PIP_PASSWORD", True),
    ("UV_INDEX_PASSWORD", True),
    ("UV_PUBLISH_PASSWORD", True),
    ("HATCH_INDEX_AUTH", True),
    ("PDM_PUBLISH_PASSWORD", True),
    ("CONDA_TOKEN", True),
    ("ANACONDA_API_TOKEN", True),
    ("NUGET_API_KEY", True),
    ("GEM_HOST_API_KEY", True),
    ("COMPOSER_AUTH", True),
    ("npm_config__authToken", True),
    ("NPM_CONFIG__AUTH_TOKEN", True),
    ("YARN_NPM_AUTH_TOKEN", True),
    ("DOCKER_PASSWORD", True),
    ("DOCKERHUB_TOKEN", True),
    ("REGISTRY_PASSWORD", True),
    ("HELM_REPO_PASSWORD", True),
    ("TF_TOKEN_app_terraform_io", True),
    ("VAULT_ROLE_SECRET_ID", True),
    # CI systems.
    ("GITHUB_TOKEN", True),
    ("GH_TOKEN", True),
    ("GITLAB_TOKEN", True),
    ("CI_JOB_TOKEN", True),
    ("CI_REGISTRY_PASSWORD", True),
    ("ACTIONS_RUNTIME_TOKEN", True),
    ("BITBUCKET_APP_PASSWORD", True),
    ("CODECOV_TOKEN", True),
    ("DOCKER_AUTH_CONFIG", True),
    ("CIRCLE_TOKEN", True),
    ("BUILDKITE_AGENT_TOKEN", True),
    ("TRAVIS_API_TOKEN", True),
    ("SONAR_TOKEN", True),
    ("SNYK_TOKEN", True),
    ("COVERALLS_REPO_TOKEN", True),
    ("RUNNER_TOKEN", True),
    ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", True),
    ("GITHUB_APP_PRIVATE_KEY", True),
    ("JENKINS_API_TOKEN", True),
    ("DRONE_TOKEN", True),
    ("AZURE_DEVOPS_TOKEN", True),
    ("ARGOCD_AUTH_TOKEN", True),
    ("KUBE_TOKEN", True),
    ("SLACK_BOT_TOKEN", True),
    ("SLACK_SIGNING_SECRET", True),
    ("TELEGRAM_BOT_TOKEN", True),
    ("DISCORD_WEBHOOK", True),
    # Names in code.
    ("apiKey", True),
    ("APIKey", True),
    ("clientSecret", True),
    ("accessToken", True),
    ("dbPassword", True),
    ("OAuthToken", True),
    ("privateKey", True),
    ("secretkey", True),
    ("apikey", True),
    ("pgpassword", True),
    ("SESSION_SECRET", True),
    ("SESSION_KEY", True),
    # Not secrets.
    ("PATH", False),
    ("PWD", False),
    ("OLDPWD", False),
    ("HOME", False),
    ("USER", False),
    ("LANG", False),
    ("MODE", False),
    ("AUTHOR", False),
    ("KEYBOARD", False),
    ("KEYBOARD_LAYOUT", False),
    ("MONKEY", False),
    ("TURKEY_TIME", False),
    ("TOKENIZERS_PARALLELISM", False),
    ("MAX_NEW_TOKENS", False),
    ("SESSION_ID", False),
    ("XDG_SESSION_ID", False),
    ("XDG_SESSION_TYPE", False),
    ("PASSENGER_APP_ENV", False),
    ("BYPASS_CACHE", False),
    ("GIT_ASKPASS", False),
    ("PGHOST", False),
    ("PGUSER", False),
    ("PGPASSFILE", False),
    ("TWINE_USERNAME", False),
    ("PIP_INDEX_URL", False),
    ("PIP_EXTRA_INDEX_URL", False),
    ("AWS_REGION", False),
    ("CUDA_VISIBLE_DEVICES", False),
    ("OMP_NUM_THREADS", False),
    ("PYTHONPATH", False),
    ("SECRETARY", False),
    # Names about a secret, not the secret: where it is, what it is called, how it is made.
    ("POSTGRES_PASSWORD_FILE", False),
    ("MYSQL_ROOT_PASSWORD_FILE", False),
    ("AWS_SHARED_CREDENTIALS_FILE", False),
    ("AWS_WEB_IDENTITY_TOKEN_FILE", False),
    ("CLOUDSDK_AUTH_ACCESS_TOKEN_FILE", False),
    ("SSH_AUTH_SOCK", False),
    ("SSH_KEY_PATH", False),
    ("KEY_PATH", False),
    ("KEYS_DIR", False),
    ("CA_KEY_FILE", False),
    ("API_KEY_NAME", False),
    ("SECRET_NAME", False),
    ("AUTH_TYPE", False),
    ("POSTGRES_HOST_AUTH_METHOD", False),
    ("PASSWORD_POLICY", False),
    ("PASSWORD_MIN_LENGTH", False),
    ("TOKEN_TTL", False),
    ("TOKEN_EXPIRY", False),
    ("JWT_ALGORITHM", False),
    ("SIGNATURE_VERSION", False),
    ("AWS_SECRETS_MANAGER_REGION", False),
    ("SECRETS_MANAGER_ENDPOINT", False),
    ("WEBHOOK_ENABLED", False),
    ("KEY_REPEAT_DELAY", False),
    ("CACHE_KEY_PREFIX", False),
    ("OAUTH_TOKEN_ENDPOINT", False),
    ("AUTH_PROVIDER", False),
    # Keys that are no secret, and words that merely hold a secret word.
    ("PUBLIC_KEY", False),
    ("SSH_PUBLIC_KEY", False),
    ("PUBKEY", False),
    ("SORT_KEY", False),
    ("PARTITION_KEY", False),
    ("PRIMARY_KEY", False),
    ("FOREIGN_KEYS", False),
    ("CACHE_KEY", False),
    ("passThrough", False),
    ("PASS_THROUGH", False),
    ("COMPASS_HOME", False),
    ("PASSIVE_MODE", False),
    ("SASS_PATH", False),
    ("SASL_MECHANISM", False),
    ("KEYCLOAK_URL", False),
    ("KEYRING_BACKEND", False),
    ("PYTHON_KEYRING_BACKEND", False),
    ("XKB_KEYMAP", False),
    ("HOTKEY", False),
    ("WHISKEY", False),
    ("DONKEY", False),
    ("GIT_AUTHOR_NAME", False),
    ("GIT_AUTHOR_EMAIL", False),
    ("OAUTH_CALLBACK_URL", False),
    ("TOKENIZER_NAME", False),
    ("MAX_TOKENS", False),
    ("tokenizerName", False),
    ("keyboardLayout", False),
    ("monkeyPatch", False),
    ("authorName", False),
    ("sessionId", False),
    ("DBUS_SESSION_BUS_ADDRESS", False),
    ("PGHOST", False),
    ("PGPORT", False),
    ("PGDATABASE", False),
    ("PGSSLMODE", False),
    ("MYSQL_HOST", False),
    ("REDIS_HOST", False),
    ("REDIS_URL", False),
    ("DATABASE_URL", False),
    ("SENTRY_DSN", False),
    ("LD_LIBRARY_PATH", False),
    ("CLASSPATH", False),
    ("HF_HOME", False),
    ("WANDB_PROJECT", False),
    ("GITHUB_SHA", False),
    ("GITHUB_ACTOR", False),
    ("CI_JOB_ID", False),
    ("AWS_PROFILE", False),
    ("AWS_ROLE_ARN", False),
    ("AZURE_TENANT_ID", False),
    ("AZURE_CLIENT_ID", False),
    ("GOOGLE_CLOUD_PROJECT", False),
    ("SSL_CERT_FILE", False),
    ("REQUESTS_CA_BUNDLE", False),
    ("UV_INDEX_URL", False),
    ("PIP_TRUSTED_HOST", False),
    ("NODE_ENV", False),
]


@pytest.mark.parametrize(("name", "secret"), REAL_NAMES)
def test_real_variable_names(name: str, secret: bool) -> None:
    """The rule agrees with the conventions of cloud SDKs, databases, package managers and CI."""
    assert is_secret_name(name) is secret


_PLAIN_WORDS = ["MY", "APP", "DB", "PROD", "S3", "SERVICE", "API", "CLIENT", "ROOT", "INDEX", "V2"]
_SEPARATORS = ["_", "-", ".", "__"]


def _join(words: list[str], separator: str, style: str) -> str:
    if style == "camel":
        first, *rest = words
        return first.lower() + "".join(word.capitalize() for word in rest)
    if style == "lower":
        return separator.join(words).lower()
    return separator.join(words)


@given(
    before=st.lists(st.sampled_from(_PLAIN_WORDS), max_size=3),
    word=st.sampled_from(sorted(SECRET_NAME_WORDS - {"PASS"})),
    after=st.lists(st.sampled_from(_PLAIN_WORDS), max_size=2),
    number=st.sampled_from(["", "2", "_1"]),
    separator=st.sampled_from(_SEPARATORS),
    style=st.sampled_from(["upper", "lower", "camel"]),
)
def test_a_secret_word_anywhere_in_a_name_makes_it_secret(
    *, before: list[str], word: str, after: list[str], number: str, separator: str, style: str
) -> None:
    """Whatever the words around it and however the name is spelled (snake, kebab, camel,
    ``__``-separated, numbered)."""
    assert is_secret_name(_join([*before, word, *after], separator, style) + number)


@given(
    before=st.lists(st.sampled_from(_PLAIN_WORDS), max_size=3),
    word=st.sampled_from(sorted(SECRET_NAME_WORDS | {"PWD"})),
    about=st.sampled_from(sorted(ABOUT_A_SECRET)),
    separator=st.sampled_from(_SEPARATORS),
    style=st.sampled_from(["upper", "lower", "camel"]),
)
def test_a_name_ending_with_what_it_says_about_a_secret_is_not_secret(
    before: list[str], word: str, about: str, separator: str, style: str
) -> None:
    """``POSTGRES_PASSWORD_FILE`` is a path, ``TOKEN_TTL`` a duration: nothing to hide."""
    assert not is_secret_name(_join([*before, word, about], separator, style))


@given(
    before=st.lists(st.sampled_from(_PLAIN_WORDS), max_size=3),
    after=st.lists(st.sampled_from(_PLAIN_WORDS), min_size=1, max_size=2),
    separator=st.sampled_from(_SEPARATORS),
)
def test_pass_is_a_password_only_as_the_last_word(
    before: list[str], after: list[str], separator: str
) -> None:
    """``DB_PASS`` is a password, ``PASS_THROUGH`` is not."""
    assert is_secret_name(separator.join([*before, "PASS"]))
    assert not is_secret_name(separator.join([*before, "PASS", *after]))


@given(
    prefix=st.sampled_from(["PG", "MYSQL", "NPM", "GH", "X", "client", "my"]),
    suffix=st.sampled_from(GLUED_SECRET_SUFFIXES),
)
def test_a_secret_ending_glued_to_a_prefix_makes_a_name_secret(prefix: str, suffix: str) -> None:
    """``PGPASSWORD``, ``NPMTOKEN``, ``clientsecret``."""
    assert is_secret_name(prefix + suffix)
    assert is_secret_name((prefix + suffix).lower())


@given(
    st.lists(
        st.sampled_from([*_PLAIN_WORDS, "PATH", "HOME", "KEYBOARD", "MONKEY", "URL", "ID"]),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(_SEPARATORS),
)
def test_names_without_a_secret_word_are_not_secret(words: list[str], separator: str) -> None:
    """Words that merely contain a secret word (``KEYBOARD``, ``MONKEY``) do not count."""
    assert not is_secret_name(separator.join(words))


# -- masking text -------------------------------------------------------------------------------

_credential_text = st.text(
    alphabet=st.characters(codec="ascii", exclude_characters=" \t\n\r\x0b\x0c/@?#'\""),
    min_size=1,
    max_size=12,
)
_hosts = st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,5}){0,2}", fullmatch=True)


@st.composite
def urls_with_credentials(draw: st.DrawFn) -> tuple[str, str, str]:
    """A URL with ``user:password@`` (the password holding the canary), its host and password."""
    scheme = draw(st.sampled_from(["https", "http", "git+https", "postgres", "redis", "s3"]))
    user = draw(_credential_text.filter(lambda u: ":" not in u))
    password = CANARY + draw(_credential_text)
    host = draw(_hosts)
    port = draw(st.none() | st.integers(1, 65535))
    path = draw(st.sampled_from(["", "/", "/simple", "/simple/", "/db?sslmode=require", "/x#frag"]))
    netloc = f"{urllib.parse.quote(user, safe='')}:{password}@{host}" + (f":{port}" if port else "")
    return f"{scheme}://{netloc}{path}", host, password


@given(
    st.lists(urls_with_credentials(), min_size=1, max_size=4),
    st.sampled_from([" ", "  ", "\n", ", ", ",", ";", " | "]),
    st.text(max_size=10).filter(lambda t: "@" not in t and "://" not in t),
)
def test_every_url_in_a_value_has_its_credentials_masked(
    found: list[tuple[str, str, str]], separator: str, around: str
) -> None:
    """Several URLs in one value (pip's extra index variable) are each masked, hosts kept."""
    text = around + separator.join(url for url, _, _ in found) + around
    masked = redact_text(text)
    assert CANARY not in masked
    for _, host, password in found:
        assert password not in masked
        assert f"***@{host}" in masked
    assert masked.count("***@") == len(found)


@given(st.text())
def test_masking_never_raises_and_is_stable(text: str) -> None:
    """Any text at all can be shown; masking twice changes nothing more."""
    once = redact_text(text)
    assert redact_text(once) == once


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://u:p4ss@h/simple", "https://***@h/simple"),
        ("https://tok3n@h/", "https://***@h/"),
        ("redis://tok3n@cache:6379/0", "redis://***@cache:6379/0"),
        ("postgres://tok3n@db:5432/prod", "postgres://***@db:5432/prod"),
        ("git+https://tok3n@github.com/org/repo.git", "git+https://***@github.com/org/repo.git"),
        ("http://a:b@[::1]:8080/x", "http://***@[::1]:8080/x"),
        ("https://u:p@ss@h/x", "https://***@h/x"),
        ("u:p4ss@host/simple", "***@host/simple"),
        ("https://h/simple?token=abc123&x=1", "https://h/simple?token=***&x=1"),
        ("https://acct.blob.core/c?sv=2022&sig=AbC%2Bd", "https://acct.blob.core/c?sv=2022&sig=***"),
        (
            "AccountName=acct;AccountKey=Zm9vYmFy==;EndpointSuffix=x",
            "AccountName=acct;AccountKey=***;EndpointSuffix=x",
        ),
        ("Driver={x};UID=me;PWD=hunter2;", "Driver={x};UID=me;PWD=***;"),
        (
            '{"private_key": "-----BEGIN", "client_email": "a@b"}',
            '{"private_key": "***", "client_email": "a@b"}',
        ),
        ("--password=hunter2 --user=me", "--password=*** --user=me"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30", "Authorization: ***"),
        ("Proxy-Authorization: token abc123", "Proxy-Authorization: ***"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "curl -H 'Authorization: ***' x"),
        ("Bearer eyJhbGciOiJIUzI1NiJ9", "Bearer ***"),
        ("https://u:p1@es1:9200,https://u:p2@es2:9200", "https://***@es1:9200,https://***@es2:9200"),
        # Passwords written without percent-encoding what ends an authority.
        ("https://AKID:wJal/rXUtnFEMI/K7MDENG@h/x", "https://***@h/x"),
        ("redis://:p?ss#w@cache:6379/0", "redis://***@cache:6379/0"),
        ("https://u:two words@h/simple", "https://***@h/simple"),
        ("amqp://u:p/1@mq,amqp://u:p/2@mq2", "amqp://***@mq,amqp://***@mq2"),
        (
            "mongodb+srv://u:p@c0.example.net/db?retryWrites=true",
            "mongodb+srv://***@c0.example.net/db?retryWrites=true",
        ),
        ("jdbc:postgresql://u:pw@db:5432/x", "jdbc:postgresql://***@db:5432/x"),
        ("ssh://git:hunter2@host/repo.git", "ssh://***@host/repo.git"),
        # Secret parameters and headers in their other spellings.
        ("https://h/x#access_token=abc&state=1", "https://h/x#access_token=***&state=1"),
        ("wss://h/socket?jwt=abc.def.ghi", "wss://h/socket?jwt=***"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=ab12&X-Amz-Expires=60",
            "https://b.s3.amazonaws.com/k?X-Amz-Signature=***&X-Amz-Expires=60",
        ),
        ("authorization=Bearer abc.def", "authorization=***"),
        ('{"Authorization": "token abc123"}', '{"Authorization": "***"}'),
        ("X-Api-Key: abc123", "X-Api-Key: ***"),
        ("curl -H 'PRIVATE-TOKEN: glabc123' x", "curl -H 'PRIVATE-TOKEN: ***' x"),
        ("password: hunter2\nuser: me", "password: ***\nuser: me"),
        ("bearer 0123abcd.efgh", "bearer ***"),
        ("git+https://:p(#`@@h/x", "git+https://***@h/x"),
        ("https://u:p?s@", "https://***@"),
        ("redis://: pw@host/0", "redis://***@host/0"),
        ("s3://u:p)?@/x", "s3://***@/x"),
        ("https://u:5#pw@host/x", "https://***@host/x"),
        ("BASIC dXNlcjpwYXNz", "BASIC ***"),
        # Not secrets: kept as they are.
        ("https://pypi.org/simple", "https://pypi.org/simple"),
        ("ubuntu:24.04@sha256:" + "a" * 64, "ubuntu:24.04@sha256:" + "a" * 64),
        ("joe@example.com", "joe@example.com"),
        ("/home/me/a:b@c", "/home/me/a:b@c"),
        ("cpu_count=4", "cpu_count=4"),
        ("Basic auth is off", "Basic auth is off"),
    ],
)
def test_masked_shapes(text: str, shown: str) -> None:
    """URL credentials, bare ``user:password@``, secret parameters, HTTP credentials."""
    assert redact_text(text) == shown


#: Ordinary values that hold no secret, under a name that says none: shown as they are.
ORDINARY_VALUES = [
    "/usr/local/bin:/usr/bin:/bin",
    "/home/me/a:b@c",
    "/opt/lib:/usr/lib64:/home/u@x/lib",
    "C:\\Users\\me;D:\\x",
    "https://pypi.org/simple",
    "https://pypi.org/simple https://download.pytorch.org/whl/cu121",
    "http://localhost:8080/api?x=1&page=2",
    "http://[::1]:8080/x me@example.com",
    "https://host:8443/path joe@example.com",
    "joe@example.com",
    "Joe Doe <joe@example.com>",
    "joe@example.com,ann@example.org",
    "mailto:joe@example.com",
    "sip:alice@example.com",
    "user@host",
    "user@10.0.0.1:22",
    "git@github.com:org/repo.git",
    "ssh://git@github.com/org/repo.git",
    "git+ssh://git@github.com/org/repo.git@main",
    "sftp://deploy@files.example.com/incoming",
    "svn+ssh://deploy@svn.example.com/repo",
    "ubuntu:24.04@sha256:" + "a" * 64,
    "docker.io/library/python:3.11@sha256:" + "b" * 64,
    "ghcr.io/org/secret-manager:1.0",
    "numpy==1.26.4",
    "torch>=2.1; python_version>'3.8'",
    "pkg @ https://host/pkg.whl",
    "git+https://github.com/org/repo@v1.2#egg=x",
    "@scope/pkg@1.2.3",
    "npm install @types/node@20",
    "https://registry.npmjs.org/@types%2fnode",
    "https://github.com/org/repo/tree/main@{1}",
    "s3://bucket/key@v2",
    "host1:9092,host2:9092",
    "redis://redis:6379/0",
    "postgres://db:5432/prod",
    "a=1 b=2",
    "keyboard=us",
    "monkey=1",
    "sort_key=name",
    "password_policy=strict",
    "token_count=42",
    "max_tokens=256",
    "tokenizer=gpt2",
    "auth_type=oauth",
    "key_path=/etc/ssl/key.pem",
    "path: /x",
    "The author: me",
    "version: 1.2.3",
    "Basic auth is off",
    "bearer of bad news",
    "Bearer token missing",
    "en_US.UTF-8",
    "America/New_York",
    "--index-url https://pypi.org/simple",
    "1",
    "",
    "x@y",
    "@",
    "@@@",
    "a:b",
    "10.0.0.1:8080",
]


@pytest.mark.parametrize("value", ORDINARY_VALUES)
def test_ordinary_values_are_shown_as_they_are(value: str) -> None:
    """Masking is precise: paths, URLs without credentials, e-mail addresses, SSH logins, image
    digests and parameters that merely mention a secret word are not masked."""
    assert redact_text(value) == value
    assert repr(Env(environ={"SETTING": value}).environ) == repr({"SETTING": value})


_raw_password = st.lists(
    st.sampled_from([*"abcXYZ019!$&'()*+,;=~-._/?# :", "%2F"]), min_size=1, max_size=10
).map(lambda parts: CANARY + "".join(parts))


@given(
    scheme=st.sampled_from(
        [
            "https",
            "git+https",
            "ssh",
            "redis",
            "rediss",
            "postgresql+psycopg2",
            "mysql",
            "mongodb+srv",
            "amqps",
            "s3",
        ]
    ),
    user=st.sampled_from(["u", "AKIAX", "__token__", ""]),
    password=_raw_password,
    host=_hosts,
    path=st.sampled_from(["", "/", "/simple", "/db?sslmode=require"]),
    separator=st.sampled_from([" ", "\n", ",", ";", "\r\n"]),
)
def test_a_password_written_with_unencoded_characters_is_masked_whole(
    *, scheme: str, user: str, password: str, host: str, path: str, separator: str
) -> None:
    """``/``, ``?``, ``#``, ``:`` or a space in a password (an AWS secret key holds ``/``) do
    not cut the masking short, alone or beside another URL."""
    text = f"{scheme}://{user}:{password}@{host}{path}"
    for value in (text, f"{text}{separator}https://v:{password}@other.example/x"):
        masked = redact_text(value)
        assert CANARY not in masked
        assert f"***@{host}" in masked


#: Tokens of a known shape, under names that do not say they are secrets.
KNOWN_TOKENS = [
    "ghp_" + "a1B2" * 9,
    "github_pat_" + "11ABCDEFG0" * 3,
    "glpat-" + "x1Y2z3" * 4,
    "xoxb-1234567890-abcdefghij",
    "AKIAIOSFODNN7EXAMPLE",
    "sk-proj-" + "Ab1" * 10,
    "sk-ant-api03-" + "Zz9" * 10,
    "hf_" + "AbCdEfGhIj" * 4,
    "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "npm_" + "a" * 36,
    "pypi-AgEIcHlwaS5vcmc" + "A" * 40,
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
]


@pytest.mark.parametrize("token", KNOWN_TOKENS)
@pytest.mark.parametrize("template", ["{0}", "config={0}", "use {0} here", "{{'value': {0!r}}}"])
def test_tokens_of_a_known_shape_are_masked_whatever_their_name(template: str, token: str) -> None:
    """GitHub, GitLab, Slack, AWS, OpenAI, Anthropic, Hugging Face, Google, Stripe, npm, PyPI
    tokens, JSON Web Tokens and private keys, as secret scanners recognise them."""
    masked = redact_text(template.format(token))
    assert token not in masked
    assert "***" in masked
    assert token not in repr(Env(environ={"SETTING": token}))


# -- a canary on every surface --------------------------------------------------------------------


class NothingExplorer(EnvExplorer):
    """Finds nothing and asks no index: these tests are about what is shown."""

    def explore(self, namespace: Mapping[str, object]) -> Exploration:
        del namespace
        return Exploration()


#: Every conventional variable name a user may put the canary under.
SECRET_VARIABLES = [name for name, secret in REAL_NAMES if secret]


def _secret_environ() -> dict[str, str]:
    environ = {name: f"{CANARY}-{index}" for index, name in enumerate(SECRET_VARIABLES)}
    environ["PIP_EXTRA_INDEX_URL"] = (
        f"https://u1:{CANARY}@a.example/simple https://u2:{CANARY}@b.example/simple"
    )
    environ["PIP_INDEX_URL"] = f"https://__token__:{CANARY}@mirror.example/simple"
    environ["DATABASE_URL"] = f"postgres://app:{CANARY}@db:5432/prod?sslmode=require"
    environ["REDIS"] = f"app:{CANARY}@redis:6379"
    environ["BLOB_URL"] = f"https://acct.blob.core.windows.net/c?sv=1&sig={CANARY}"
    environ["ODBC"] = f"Driver=x;UID=me;PWD={CANARY};"
    return environ


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class TokenContainer(DockerContainer):
    """A user's container class with a secret-named field of its own (default ``repr``)."""

    #: A token for the user's own registry proxy.
    proxy_token: str | None = None


def _everything() -> Env:
    """An env with the canary in every place a user can put a secret."""
    index = f"https://alice:{CANARY}@mirror.example:8443/simple"
    extra = (f"https://bob:{CANARY}@extra.example/simple", f"http://{CANARY}@token.example/simple/")
    return Env(
        provisioning=Provisioning(cpu_count=1),
        python_env=AutoPythonEnv(pypi_index_url=index, extra_index_urls=extra, explorer=NothingExplorer),
        container=TokenContainer(
            image="registry.example:5000/team/app:1.0",
            username="robot",
            password=CANARY,
            proxy_token=CANARY,
        ),
        environ=_secret_environ(),
    )


def _surfaces(env: Env) -> Iterator[tuple[str, str]]:
    """Every way lzy shows an env: ``repr``, ``str``, ``explain``, rows and serialized forms."""
    effective = EffectiveEnv.from_layers({Level.OP: env})
    resolved = effective.resolve({})
    yield "repr(env)", repr(env)
    yield "str(env)", str(env)
    yield "repr(env.environ)", repr(env.environ)
    yield "repr(effective.environ)", repr(effective.environ)
    for point in ("provisioning", "python_env", "container"):
        yield f"repr({point})", repr(getattr(env, point))
    yield "repr(effective)", repr(effective)
    yield "explain()", effective.explain()
    yield "rows()", repr(effective.rows())
    yield "repr(resolved)", repr(resolved)
    yield "resolved.explain()", resolved.explain()
    yield "to_dict()", json.dumps(resolved.to_dict())
    yield "to_json()", resolved.to_json()
    yield "op", repr(op(env=env)(_noop))
    workflow = Lzy().workflow("w", env=env)
    yield "workflow", repr(workflow)


def _noop() -> None:
    """Does nothing."""


def test_the_canary_is_on_no_surface() -> None:
    """``repr``, ``str``, ``explain()``, rows, ``to_dict()``, ``to_json()`` of an env that holds
    the canary everywhere never show it; the op still receives the real values."""
    env = _everything()
    for surface, text in _surfaces(env):
        assert CANARY not in text, surface
    assert env.environ["PGPASSWORD"].startswith(CANARY)
    resolved = EffectiveEnv.from_layers({Level.OP: env}).resolve({})
    assert CANARY in resolved.to_json(include_secrets=True)
    assert ResolvedEnv.from_json(resolved.to_json(include_secrets=True)) == resolved


def test_every_variable_the_rule_calls_secret_is_left_out_of_to_dict() -> None:
    """``to_dict()`` drops secret variables and masks credentials inside the others."""
    resolved = EffectiveEnv.from_layers({Level.OP: _everything()}).resolve({})
    environ = resolved.to_dict()["environ"]
    assert not set(environ) & set(SECRET_VARIABLES)
    assert environ["DATABASE_URL"] == "postgres://***@db:5432/prod?sslmode=require"
    assert environ["PIP_EXTRA_INDEX_URL"] == "https://***@a.example/simple https://***@b.example/simple"


def _untyped(function: object) -> Any:
    """``function`` for a call a checker would refuse: the test is what happens at run time."""
    return cast("Any", function)


#: Calls that are refused and hold the canary in what they refuse.
REFUSED: list[tuple[str, Callable[[], object]]] = [
    ("bad index scheme", lambda: AutoPythonEnv(pypi_index_url=f"ftp://u:{CANARY}@h/simple")),
    ("index without scheme", lambda: AutoPythonEnv(pypi_index_url=f"u:{CANARY}@h/simple")),
    ("token index without scheme", lambda: AutoPythonEnv(pypi_index_url=f"{CANARY}@h/simple")),
    ("bad port", lambda: AutoPythonEnv(pypi_index_url=f"https://u:{CANARY}@h:99999/simple")),
    (
        "space in host",
        lambda: ManualPythonEnv(
            python_version="3.11", pypi_packages={}, pypi_index_url=f"https://u:{CANARY}@h st/simple"
        ),
    ),
    (
        "bad extra index",
        lambda: AutoPythonEnv(extra_index_urls=["https://ok/simple", f"https://u:{CANARY}@/x"]),
    ),
    (
        "extra index as a str",
        lambda: _untyped(AutoPythonEnv)(extra_index_urls=f"https://u:{CANARY}@h/simple"),
    ),
    ("secret variable not a str", lambda: _untyped(Env)(environ={"PGPASSWORD": [CANARY]})),
    ("secret variable with NUL", lambda: Env(environ={"API_KEY": f"{CANARY}\x00"})),
    ("URL variable with NUL", lambda: Env(environ={"INDEX": f"https://u:{CANARY}@h/\x00"})),
    (
        "password not a str",
        lambda: _untyped(DockerContainer)(image="x", username="u", password=CANARY.encode()),
    ),
    ("password without username", lambda: DockerContainer(image="x", password=CANARY)),
    (
        "registry with credentials",
        lambda: DockerContainer(image="x", registry=f"https://u:{CANARY}@reg.example"),
    ),
    ("credentials in the image", lambda: DockerContainer(image=f"u:{CANARY}@reg.example/app")),
    ("unknown field", lambda: _untyped(Lzy().with_python_env)(index=f"https://u:{CANARY}@h/simple")),
    (
        "with_environ not a str",
        lambda: _untyped(Lzy().with_environ)(GITHUB_TOKEN=1234, DB=f"postgres://u:{CANARY}@h/x\x00"),
    ),
    ("pin", lambda: ManualPythonEnv(python_version="3.11", pypi_packages={"x": f"https://u:{CANARY}@h"})),
]


@pytest.mark.parametrize(("case", "call"), REFUSED, ids=[case for case, _ in REFUSED])
def test_a_refused_value_is_shown_masked(case: str, call: Callable[[], object]) -> None:
    """An error that echoes what it refuses never echoes the canary it holds."""
    del case
    with pytest.raises(LzyError) as caught:
        call()
    assert CANARY not in str(caught.value)
    assert CANARY not in repr(caught.value)


#: Values no field takes, each holding the canary as a URL's password.
BAD_URL_SHAPES = [
    f"https://u:{CANARY}@host:99999/simple",
    f"https://u:{CANARY}@ho st/simple",
    f"ftp://u:{CANARY}@host/simple",
    f"https://u:{CANARY}@host:abc/simple",
    f"https://u:{CANARY}@/simple",
    f"https://u:{CANARY}@host\x00/x",
    f"u:{CANARY}@host/simple",
    f"https://u:{CANARY}@[::1/x",
    f"https://u:{CANARY}@host:0/x",
    f"git+https://u:{CANARY}@host/x",
    f"https://u:{CANARY}@host/x\n",
    f"https://u:{CANARY}@-bad-.com/x",
    f"https://u:{CANARY}@host/x https://u:{CANARY}@h2/x",
    f"https://u:p{CANARY} q@host/x",
    f"https://u:{CANARY}/x@host:99999/x",
    f"https://u:{CANARY}\u3000@host/x",
    f"https://u:{CANARY}@ho\u200bst:12/x",
    f"file://u:{CANARY}@host/x",
    f"https://u:{CANARY}@" + "a" * 300 + "/x",
    f"https://u:{CANARY}@host:\uff11\uff12/x",
    f"https://{CANARY}@registry.example:99999/app:1",
    f", http://{CANARY}@h:99999x=",
]

#: Every field that refuses a value, with a call that gives it one.
REFUSING_FIELDS: dict[str, Callable[[object], object]] = {
    "pypi_index_url": lambda v: _untyped(AutoPythonEnv)(pypi_index_url=v),
    "extra_index_urls[0]": lambda v: _untyped(AutoPythonEnv)(extra_index_urls=[v]),
    "extra_index_urls as a str": lambda v: _untyped(AutoPythonEnv)(extra_index_urls=v),
    "ManualPythonEnv.pypi_index_url": lambda v: _untyped(ManualPythonEnv)(
        python_version="3.11", pypi_packages={}, pypi_index_url=v
    ),
    "pin version": lambda v: _untyped(ManualPythonEnv)(python_version="3.11", pypi_packages={"x": v}),
    "pin name": lambda v: _untyped(AutoPythonEnv)(additional_pypi_packages={v: "1.0"}),
    "exclude_packages": lambda v: _untyped(AutoPythonEnv)(exclude_packages=[v]),
    "local_module_paths": lambda v: _untyped(ManualPythonEnv)(
        python_version="3.11", pypi_packages={}, local_module_paths=[f"{v}\x00"]
    ),
    "image": lambda v: _untyped(DockerContainer)(image=v),
    "registry": lambda v: _untyped(DockerContainer)(image="ubuntu", registry=v),
    "environ value": lambda v: _untyped(Env)(environ={"X": f"{v}\x00"}),
    "environ value not a str": lambda v: _untyped(Env)(environ={"X": [v]}),
    "environ name": lambda v: _untyped(Env)(environ={f"{v}=": "1"}),
    "cpu_type": lambda v: _untyped(Provisioning)(cpu_type=f"{v}\x01"),
    "python_version": lambda v: _untyped(AutoPythonEnv)(python_version=v),
    "with_python_env": lambda v: _untyped(Lzy().with_python_env)(pypi_index_url=v),
    "with_python_env klass": lambda v: _untyped(Lzy().with_python_env)(klass=v),
    "with_container": lambda v: _untyped(Lzy().with_container)(image=v),
}


@pytest.mark.parametrize("value", BAD_URL_SHAPES)
@pytest.mark.parametrize("field", list(REFUSING_FIELDS))
def test_every_refusal_of_every_field_shows_the_value_masked(field: str, value: str) -> None:
    """Whatever field refuses a value holding credentials, and whatever is wrong with it, the
    error (its message, its repr, the error it was raised from) never shows the password."""
    with pytest.raises(LzyError) as caught:
        REFUSING_FIELDS[field](value)
    error = caught.value
    chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    for text in (str(error), repr(error), repr(chained)):
        assert CANARY not in text


_RAW = st.sampled_from([*"abcXYZ!$&'()*+,;=~-._/?# :@`{}|^%\"<>[]\\", "\u3000", "\u200b", "\x7f", "é"])


@given(
    scheme=st.sampled_from(["https", "http", "HTTPS", "git+https", "ftp", "file", "redis", "s3", "ssh"]),
    user=st.sampled_from(["u", "", "__token__", "AKIAX"]),
    before=st.lists(_RAW, max_size=3),
    after=st.lists(_RAW, max_size=3),
    host=st.sampled_from(["h", "host.example", "[::1]", "ho st", "h:99999", "h:abc", "", "h@x"]),
    path=st.sampled_from(["", "/", "/simple", "/x?y=1", "#f", " tail"]),
    lead=st.sampled_from(["", " ", ", ", ";"]),
    field=st.sampled_from(sorted(REFUSING_FIELDS)),
)
def test_a_refused_url_with_a_raw_password_never_shows_it(
    *,
    scheme: str,
    user: str,
    before: list[str],
    after: list[str],
    host: str,
    path: str,
    lead: str,
    field: str,
) -> None:
    """Passwords holding unencoded reserved characters, spaces, '@', invisible characters, in
    URLs of any scheme, good or bad hosts, given to any field: a refusal never shows them."""
    password = "".join(before).lstrip("0123456789") + CANARY + "".join(after)
    value = f"{lead}{scheme}://{user}:{password}@{host}{path}"
    refusal: LzyError | None = None
    try:
        REFUSING_FIELDS[field](value)
    except LzyError as error:
        refusal = error
    assert CANARY not in str(refusal)
    assert CANARY not in repr(refusal)


def test_lzy_errors_and_warnings_mask_any_message() -> None:
    """Whatever code raises an lzy error or warning, secrets in the message are masked."""
    error = LzyError(f"cannot reach https://u:{CANARY}@h/simple (token={CANARY})")
    assert CANARY not in str(error)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn(f"shipped from https://{CANARY}@h/x", LzyWarning, stacklevel=1)
    assert caught
    assert all(CANARY not in str(w.message) for w in caught)


@op
def read_secret() -> str:
    """What the op sees: the real value, which must not be logged on its way."""
    return os.environ["PGPASSWORD"]


def test_no_log_record_warning_or_error_of_a_run_holds_the_canary() -> None:
    """Describing, explaining, resolving and running an op with the canary everywhere: no log
    record of any logger at DEBUG, no warning and no refusal shows it; the op gets the value."""
    env = _everything()
    local = OnlyLocalPythonEnv(explorer=NothingExplorer)
    lzy = (
        Lzy(runtime=LocalRuntime())
        .with_env(env)
        .with_python_env(local)
        .with_container(klass="lzy.api.v1.env.NoContainer")
    )
    with every_log_record() as records, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _, text in _surfaces(env):
            assert CANARY not in text
        with lzy.workflow("canary") as workflow:
            assert CANARY not in workflow.effective_env(read_secret).explain()
            assert read_secret().startswith(CANARY)
        refused = Lzy(runtime=LocalRuntime()).with_env(env)
        with refused.workflow("refused"), pytest.raises(LzyError) as error:
            read_secret()
    assert CANARY not in str(error.value)
    assert all(CANARY not in str(w.message) for w in caught)
    assert not [text for text in shown(records) if CANARY in text]


#: ``.netrc`` files that do not parse, where the parser's message would quote a token of a
#: password (one with a space, cut by the parser), or the password itself.
BROKEN_NETRCS = [
    f"machine h login u password pa {CANARY}\n",
    f"machine h login u password {CANARY} extra\n",
    f"{CANARY}\n",
    f"machine h login u password {CANARY}\nmachine\n",
    f"default login u password x {CANARY}\n",
    f"machine h login u password x\nmacdef m\n{CANARY}",
]


@pytest.mark.parametrize("body", BROKEN_NETRCS)
def test_a_netrc_that_does_not_parse_is_warned_of_without_its_secret(
    body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The warning says where the file is and at which line it breaks; never what is there."""
    from lzy.runtime import _ray_cluster  # the Ray runtime's module: it loads no Ray

    path = tmp_path / "netrc"
    path.write_text(body)
    path.chmod(0o600)
    monkeypatch.setenv("NETRC", str(path))
    with every_log_record() as records, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert _ray_cluster._user_netrc() == {}  # pyright: ignore[reportPrivateUsage]
    messages = [str(w.message) for w in caught]
    assert any("does not parse as a .netrc at line" in message for message in messages)
    assert not [text for text in [*messages, *shown(records)] if CANARY in text]


def test_an_unreachable_index_is_reported_without_its_credentials_or_mangling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Credentials from pip's configuration, an index that refuses connections: no error, warning
    or log record of any logger shows the password, and a short user name is not masked inside
    other words."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("PIP_INDEX_URL", f"https://u:{CANARY}@127.0.0.1:{port}/simple")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    env = Env(python_env=AutoPythonEnv())
    with every_log_record() as records, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        effective = EffectiveEnv.from_layers({Level.OP: env})
        texts = [effective.explain()]
        with pytest.raises(LzyError) as error:
            effective.resolve({"version": packaging.version})
    texts += [str(error.value), repr(error.value), *(str(w.message) for w in caught), *shown(records)]
    assert not [text for text in texts if CANARY in text]
    assert "https://***@127.0.0.1" in str(error.value)
    assert "***sed" not in str(error.value)
