"""The one exception hierarchy of lzy.

Every error lzy raises on purpose derives from :class:`LzyError`. Configuration mistakes
also derive from the built-in exception a Python programmer would expect
(:class:`TypeError` for a wrong keyword or type, :class:`ValueError` for a bad value), so
``except TypeError`` keeps working.

Messages never carry secrets: every message an :class:`LzyError` or :class:`LzyWarning` is made
with has the credentials of its URLs and its secret-named parameters masked, whatever code
raised it (see :ref:`secrets`).
"""

from __future__ import annotations

import dataclasses

from lzy._secrets import redact_text

__all__ = [
    "ConfigurationError",
    "ContainerConfigError",
    "EnvironError",
    "ExplorationError",
    "FieldTypeError",
    "FieldValueError",
    "ImageReferenceError",
    "ImmutableEnvError",
    "InstallError",
    "InstallPlanError",
    "KlassError",
    "LzyError",
    "LzyWarning",
    "ManifestNotFoundError",
    "MissingExtraError",
    "NotARegistryError",
    "NotAnImageError",
    "NotAnOpError",
    "OpExecutionError",
    "PackageIndexError",
    "PlatformNotFoundError",
    "ProvisioningError",
    "RegistryAccessDeniedError",
    "RegistryAuthError",
    "RegistryCredentialsRejectedError",
    "RegistryCredentialsRequiredError",
    "RegistryError",
    "RegistryProtocolError",
    "RegistryUnreachableError",
    "RepositoryNotFoundError",
    "ResolutionError",
    "RuntimeConnectionError",
    "RuntimeRefusedError",
    "UnknownFieldError",
    "UnknownPathError",
    "UnsupportedContainerError",
    "WorkflowContextError",
]


def __dir__() -> list[str]:
    return __all__


def _masked(args: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(redact_text(arg) if isinstance(arg, str) else arg for arg in args)


class LzyError(Exception):
    """The root of every error lzy raises on purpose. Its message is shown with secrets masked."""

    def __init__(self, *args: object) -> None:
        super().__init__(*_masked(args))


class ConfigurationError(LzyError):
    """An environment was described wrongly; raised where the mistake was written."""


class UnknownFieldError(ConfigurationError, TypeError):
    """A keyword that the configuration class does not have (the message lists the valid ones)."""


class FieldTypeError(ConfigurationError, TypeError):
    """A field was given a value of the wrong type."""


class FieldValueError(ConfigurationError, ValueError):
    """A field was given a value of the right type that is not allowed."""


class ImageReferenceError(FieldValueError):
    """A container image reference that cannot be parsed, or that contradicts ``registry``."""


class ContainerConfigError(FieldValueError):
    """A container description whose fields contradict each other."""


class EnvironError(FieldValueError):
    """An environment variable with an invalid name or a value that is not a string."""


class ImmutableEnvError(ConfigurationError, dataclasses.FrozenInstanceError):
    """A field of an environment or a point was assigned; they are immutable (the message shows
    the ``with_*`` or :func:`dataclasses.replace` way to a changed copy)."""


class KlassError(ConfigurationError, TypeError):
    """A ``klass`` that is not a subclass of the point's base, or a dotted path that does not import."""


class NotAnOpError(ConfigurationError, TypeError):
    """An environment decorator was applied to something that is not an op."""


class UnknownPathError(LzyError, KeyError):
    """:meth:`~lzy.env.environment.EffectiveEnv.source` was asked about a path that does not exist."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a sentence reads better unquoted.
        return str(self.args[0]) if self.args else ""


class ResolutionError(LzyError):
    """An environment could not be turned into its artifacts."""


class ProvisioningError(ResolutionError):
    """No machine satisfies the resources asked for, or the request is inconsistent."""


class ExplorationError(ResolutionError):
    """The Python environment of an op could not be explored."""


class PackageIndexError(ExplorationError):
    """A package index could not be reached or did not speak the simple repository API."""


class UnsupportedContainerError(ResolutionError):
    """A container resolved to a ``container_type`` that no runtime of lzy can run."""


class RegistryError(ResolutionError):
    """A container image could not be confirmed in its registry; the subclass says why.

    Raised by :meth:`~lzy.env.container.docker.DockerContainer.check`. Messages name the
    registry, the repository and the reference, never a password or a token.
    """


class RegistryUnreachableError(RegistryError):
    """The registry could not be reached, timed out, or kept answering with a server error."""


class NotARegistryError(RegistryError):
    """Something answered at the registry's address, but not the Registry HTTP API v2."""


class RegistryAuthError(RegistryError):
    """The registry refused access; the subclass says whether credentials were missing,
    rejected, or accepted without access to the repository."""


class RegistryCredentialsRequiredError(RegistryAuthError):
    """The registry needs credentials for the repository, and none were given or configured."""


class RegistryCredentialsRejectedError(RegistryAuthError):
    """The registry (or its token service) rejected the credentials given or configured."""


class RegistryAccessDeniedError(RegistryAuthError):
    """The credentials were accepted but do not grant pulling from the repository."""


class RepositoryNotFoundError(RegistryError):
    """The registry has no repository of that name."""


class ManifestNotFoundError(RegistryError):
    """The repository exists but has no image under that tag or digest."""


class PlatformNotFoundError(RegistryError):
    """The image exists but not for the target platform (``linux/amd64`` unless told otherwise)."""


class NotAnImageError(RegistryError):
    """The reference names an artifact that is not a container image (a Helm chart, say)."""


class RegistryProtocolError(RegistryError):
    """The registry answered something the distribution spec does not allow: a malformed or
    unsupported manifest, or content whose digest is not the one announced."""


class InstallPlanError(ResolutionError):
    """A target cannot provide a resolved Python env: it has no conda and the pip fallback is
    off, or it has no interpreter of the Python version asked for."""


class InstallError(LzyError):
    """An installer failed while building an op's environment; the message quotes its own words,
    the command that failed and the packages it named."""


class RuntimeRefusedError(LzyError):
    """The runtime cannot provide what the resolved environment asks for (it says what)."""


class OpExecutionError(LzyError):
    """An op failed in a way that could not be reported as its own exception.

    When an op raises, lzy re-raises the op's own exception with the remote traceback attached
    as a note; this error is used only when that exception cannot be sent back (it does not
    pickle) or the child process died.
    """


class WorkflowContextError(LzyError, RuntimeError):
    """An op was called where lzy cannot tell which workflow it belongs to: no workflow in the
    call's context (a thread that does not carry it), while one or more run in the process."""


class LzyWarning(UserWarning):
    """A warning lzy issues (for example: a local module with compiled code is shipped anyway).
    Its message is shown with secrets masked."""

    def __init__(self, *args: object) -> None:
        super().__init__(*_masked(args))


class MissingExtraError(LzyError, ImportError):
    """A part of lzy was used without the optional dependencies it needs; the message names the
    extra that installs them (``pip install 'lzy[ray]'``)."""


class RuntimeConnectionError(LzyError, ConnectionError):
    """A runtime could not reach, or start, what it runs ops on (a Ray cluster); the message
    names the address and the reason."""
