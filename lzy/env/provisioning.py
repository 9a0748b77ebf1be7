"""Resources an operation needs: the ``provisioning`` point.

:class:`Provisioning` is merged field by field across levels: each field comes from the highest
level that sets it. ``None`` means "not set here, inherit"; :data:`ANY` means "no requirement",
which lifts a requirement made at an outer level.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import operator
import re
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Final, TypeVar, cast

from lzy.env._base import EnvPart, OpTarget, assemble, decorate_op, describe, immutable, more_derived
from lzy.exceptions import FieldTypeError, FieldValueError, ProvisioningError

__all__ = ["ANY", "AnyValue", "MachineSpec", "Provisioning", "Resources"]


def __dir__() -> list[str]:
    return __all__


_O = TypeVar("_O", bound=OpTarget)


class AnyValue(enum.Enum):
    """The type of :data:`ANY`: a single-member enum, so checkers narrow it with ``is``."""

    #: See :data:`ANY`.
    ANY = "ANY"

    def __repr__(self) -> str:
        return "ANY"


#: The largest count of CPUs or GPUs: a signed 32-bit number, as schedulers hold resource counts.
MAX_COUNT: Final = 2**31 - 1
#: The largest memory in GiB: one EiB, beyond any machine.
MAX_RAM_GB: Final = 2**30

#: "Any value is fine": set on a :class:`Provisioning` field to lift a requirement that an outer
#: level (a workflow or :class:`~lzy.api.v1.Lzy`) made. Unlike ``None``, it counts as set.
ANY: Final = AnyValue.ANY


def _or_none(owner: str) -> str:
    """The other values a field of ``owner`` takes: :class:`Resources` holds no :data:`ANY`."""
    return ", ANY or None" if owner == "Provisioning" else " or None"


def _positive_int(field: str, value: object, owner: str = "Provisioning") -> int | AnyValue | None:
    if value is None or (value is ANY and owner == "Provisioning"):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        msg = (
            f"{owner}.{field} must be an int{_or_none(owner)}, got {describe(value)} ({type(value).__name__})"
        )
        raise FieldTypeError(msg)
    if value < 0 or (value == 0 and field != "gpu_count"):
        allowed = "a non-negative int" if field == "gpu_count" else "a positive int"
        msg = f"{owner}.{field} must be {allowed}, got {_shown_number(value)}"
        raise FieldValueError(msg)
    if value > MAX_COUNT:
        msg = f"{owner}.{field} must be at most {MAX_COUNT:,} (a 32-bit count), got {_shown_number(value)}"
        raise FieldValueError(msg)
    return value


def _shown_number(value: float) -> str:
    """A number for a message: a huge int by its size (its repr may fail, and is long), else
    its repr."""
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a number of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    return describe(value)


def _positive_float(field: str, value: object, owner: str = "Provisioning") -> float | AnyValue | None:
    if value is None or (value is ANY and owner == "Provisioning"):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = (
            f"{owner}.{field} must be a number{_or_none(owner)},"
            f" got {describe(value)} ({type(value).__name__})"
        )
        raise FieldTypeError(msg)
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not value > 0 or not finite:
        msg = f"{owner}.{field} must be a positive finite number, got {_shown_number(value)}"
        raise FieldValueError(msg)
    if value > MAX_RAM_GB:
        msg = f"{owner}.{field} must be at most {MAX_RAM_GB:,} GiB (an EiB), got {_shown_number(value)}"
        raise FieldValueError(msg)
    return value


def _name(field: str, value: object, owner: str = "Provisioning") -> str | AnyValue | None:
    if value is None or (value is ANY and owner == "Provisioning"):
        return value
    if not isinstance(value, str):
        msg = (
            f"{owner}.{field} must be a str{_or_none(owner)}, got {describe(value)} ({type(value).__name__})"
        )
        raise FieldTypeError(msg)
    if not value.strip():
        msg = f"{owner}.{field} must be a non-empty string, got {value!r}"
        raise FieldValueError(msg)
    if not value.isprintable():
        msg = f"{owner}.{field} must be printable text (no control characters), got {describe(value)}"
        raise FieldValueError(msg)
    if value.strip().casefold() == ANY.value.casefold():
        msg = (
            f"{owner}.{field}={value!r} is a model name, not the sentinel: to accept any"
            f" model write {field}=ANY (from lzy.api.v1.env import ANY)"
        )
        raise FieldValueError(msg)
    return value


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class MachineSpec:
    """A kind of machine a runtime can offer; :meth:`Provisioning.resolve` chooses among them.

    :param name: A name for the kind of machine, shown in messages (``"s-4"``, ``"this machine"``). Required.
    :param cpu_type: The CPU architecture or model, compared with :attr:`Provisioning.cpu_type`. Required.
    :param cpu_count: The number of CPU cores. Required.
    :param gpu_type: The GPU model, or ``None`` when the machine has no GPU. Default: ``None``.
    :param gpu_count: The number of GPUs. Default: ``0``.
    :param ram_size_gb: The memory in GiB. Required.
    """

    #: A name for the kind of machine, shown in messages (``"s-4"``, ``"this machine"``).
    name: str
    #: The CPU architecture or model, compared with :attr:`Provisioning.cpu_type`.
    cpu_type: str
    #: The number of CPU cores.
    cpu_count: int
    #: The GPU model, or ``None`` when the machine has no GPU.
    gpu_type: str | None = None
    #: The number of GPUs.
    gpu_count: int = 0
    #: The memory in GiB.
    ram_size_gb: float


#: Names of one CPU architecture that platforms spell differently.
_ARCHITECTURES: Final = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


def _shown_gb(value: float) -> str:
    """A machine's memory in messages: GiB to one decimal, rounded down (what it has at least),
    or two significant digits below a tenth."""
    if 0 < value < 0.1:
        return f"{value:.2g}"
    return f"{math.floor(value * 10) / 10:g}"


def model_matches(wanted: str, have: str | None) -> bool:
    """Whether a machine's CPU or GPU model ``have`` is the ``wanted`` one.

    Case is ignored and architecture aliases are one (``amd64`` is ``x86_64``); ``wanted`` may
    also be a run of the words of ``have``, so ``"A100"`` matches the driver's
    ``"NVIDIA A100-SXM4-80GB"`` and ``"RTX 4090"`` matches ``"NVIDIA GeForce RTX 4090"``.
    """
    if have is None:
        return False
    first, second = wanted.casefold(), have.casefold()
    if _ARCHITECTURES.get(first, first) == _ARCHITECTURES.get(second, second):
        return True
    words, within = re.findall(r"[a-z0-9]+", first), re.findall(r"[a-z0-9]+", second)
    return bool(words) and any(
        within[start : start + len(words)] == words for start in range(len(within) - len(words) + 1)
    )


@immutable
@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Resources:
    """The artifact of the provisioning point: requirements with inheritance settled.

    ``None`` here means "no requirement" (the field was unset everywhere, or :data:`ANY`).
    """

    #: The CPU type required, or ``None`` for any.
    cpu_type: str | None = None
    #: The minimum number of CPU cores, or ``None`` for any.
    cpu_count: int | None = None
    #: The GPU model required, or ``None`` for any (including none at all).
    gpu_type: str | None = None
    #: The number of GPUs required, or ``None`` for any (including none at all).
    gpu_count: int | None = None
    #: The minimum memory in GiB, or ``None`` for any.
    ram_size_gb: float | None = None

    def __post_init__(self) -> None:
        # The rules of Provisioning, for requirements read back from a file as for those made here.
        _name("cpu_type", self.cpu_type, "Resources")
        _positive_int("cpu_count", self.cpu_count, "Resources")
        _name("gpu_type", self.gpu_type, "Resources")
        _positive_int("gpu_count", self.gpu_count, "Resources")
        _positive_float("ram_size_gb", self.ram_size_gb, "Resources")

    def shortfalls(self, machine: MachineSpec) -> list[str]:
        """What ``machine`` lacks to satisfy these requirements; empty when it satisfies them."""
        lacks: list[str] = []
        if self.cpu_type is not None and not model_matches(self.cpu_type, machine.cpu_type):
            lacks.append(f"cpu_type {self.cpu_type!r} (it has {machine.cpu_type!r})")
        if self.cpu_count is not None and self.cpu_count > machine.cpu_count:
            lacks.append(f"cpu_count {self.cpu_count} (it has {machine.cpu_count})")
        if self.ram_size_gb is not None and self.ram_size_gb > machine.ram_size_gb:
            lacks.append(f"ram_size_gb {self.ram_size_gb:g} (it has {_shown_gb(machine.ram_size_gb)})")
        if self.gpu_count is not None and self.gpu_count > machine.gpu_count:
            lacks.append(f"gpu_count {self.gpu_count} (it has {machine.gpu_count})")
        wants_gpu = self.gpu_count is None or self.gpu_count > 0
        if self.gpu_type is not None and wants_gpu and not model_matches(self.gpu_type, machine.gpu_type):
            lacks.append(f"gpu_type {self.gpu_type!r} (it has {machine.gpu_type!r})")
        return lacks

    def smallest_fit(self, machines: Iterable[MachineSpec]) -> MachineSpec | None:
        """The smallest of ``machines`` that satisfies these requirements, or ``None``.

        Smallest means fewest GPUs, then fewest cores, then least memory (then name).
        """
        fitting = [m for m in machines if not self.shortfalls(m)]
        if not fitting:
            return None
        return min(fitting, key=lambda m: (m.gpu_count, m.cpu_count, m.ram_size_gb, m.name))


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True, repr=False)
class Provisioning(EnvPart):
    """The resources an operation needs; every field may be unset, set, or :data:`ANY`.

    Used as a decorator above ``@op`` it sets the op's provisioning:

    >>> from lzy.api.v1 import op
    >>> from lzy.api.v1.env import Provisioning
    >>> @Provisioning(cpu_count=2)
    ... @op
    ... def work() -> int:
    ...     return 1
    >>> work.env.provisioning.cpu_count
    2

    :param cpu_type: The CPU architecture or model to run on (for example ``"x86_64"``; case is ignored and ``amd64`` is ``x86_64``). ``None`` inherits from the outer level; :data:`ANY` accepts any CPU. Default: ``None``.
    :param cpu_count: The minimum number of CPU cores. ``None`` inherits; :data:`ANY` lifts an outer minimum. Default: ``None``.
    :param gpu_type: The GPU model (for example ``"A100"``, which also matches a machine's ``"NVIDIA A100-SXM4-80GB"``). ``None`` inherits; :data:`ANY` accepts any model. Setting it without :attr:`gpu_count` asks for one GPU of that model. Default: ``None``.
    :param gpu_count: The number of GPUs; ``0`` asks for none. A count above zero needs a :attr:`gpu_type`. ``None`` inherits; :data:`ANY` lifts an outer requirement. Default: ``None``.
    :param ram_size_gb: The minimum memory in GiB. ``None`` inherits; :data:`ANY` lifts an outer minimum. Default: ``None``.
    """  # noqa: E501 - one line per parameter, as editors read them

    #: The CPU architecture or model to run on (for example ``"x86_64"``; case is ignored and
    #: ``amd64`` is ``x86_64``). ``None`` inherits from the outer level; :data:`ANY` accepts
    #: any CPU.
    cpu_type: str | AnyValue | None = None
    #: The minimum number of CPU cores. ``None`` inherits; :data:`ANY` lifts an outer minimum.
    cpu_count: int | AnyValue | None = None
    #: The GPU model (for example ``"A100"``, which also matches a machine's
    #: ``"NVIDIA A100-SXM4-80GB"``). ``None`` inherits; :data:`ANY` accepts any model.
    #: Setting it without :attr:`gpu_count` asks for one GPU of that model.
    gpu_type: str | AnyValue | None = None
    #: The number of GPUs; ``0`` asks for none. A count above zero needs a :attr:`gpu_type`.
    #: ``None`` inherits; :data:`ANY` lifts an outer requirement.
    gpu_count: int | AnyValue | None = None
    #: The minimum memory in GiB. ``None`` inherits; :data:`ANY` lifts an outer minimum.
    ram_size_gb: float | AnyValue | None = None

    _POINT: ClassVar[str | None] = "provisioning"

    def __post_init__(self) -> None:
        # Each field is checked on its own, so a merge of checked provisionings is checked.
        if self.cpu_type is not None:
            _name("cpu_type", self.cpu_type)
        if self.cpu_count is not None:
            _positive_int("cpu_count", self.cpu_count)
        if self.gpu_type is not None:
            _name("gpu_type", self.gpu_type)
        if self.gpu_count is not None:
            _positive_int("gpu_count", self.gpu_count)
        if self.ram_size_gb is not None:
            _positive_float("ram_size_gb", self.ram_size_gb)

    def __call__(self, op: _O, /) -> _O:
        """Decorate an op: ``op.with_provisioning(self)``."""
        return decorate_op(self, op, lambda o: o.with_provisioning(self))

    @property
    def is_empty(self) -> bool:
        """Whether no field is set (every field ``None``)."""
        return all(getattr(self, name) is None for name in _names(self))

    def set_fields(self) -> dict[str, object]:
        """The fields that are set (not ``None``), in declaration order."""
        return {name: value for name in _names(self) if (value := getattr(self, name)) is not None}

    def merged_over(self, outer: Provisioning) -> Provisioning:
        """A provisioning with this one's set fields over ``outer``'s (this one wins).

        The result has the more derived class of the two, so a subclass keeps its type, its
        own fields and its methods when merged over a plain :class:`Provisioning` (or under
        one). Two subclasses that are not one derived from the other merge only when ``outer``
        sets nothing this one's class lacks.
        """
        if type(self) is Provisioning and type(outer) is Provisioning:
            # Both were checked field by field when made, and a merge only picks fields: the
            # result is made without checking them again (this one itself when it sets every
            # field the other sets).
            merged = list(_VALUES(self))
            changed = False
            for index, value in enumerate(_VALUES(outer)):
                if value is not None and merged[index] is None:
                    merged[index] = value
                    changed = True
            return assemble(Provisioning, merged) if changed else self
        base = more_derived(self, outer, "provisioning")
        names = {f.name for f in dataclasses.fields(base)}
        values = {k: v for k, v in outer.set_fields().items() if k in names}
        values.update(self.set_fields())
        return dataclasses.replace(base, **cast("dict[str, Any]", values))

    def requirements(self) -> Resources:
        """The artifact: :data:`ANY` and unset become "no requirement"; checked for consistency."""

        def plain(value: object) -> object:
            return None if value is ANY else value

        cpu_type = plain(self.cpu_type)
        cpu_count = plain(self.cpu_count)
        gpu_type = plain(self.gpu_type)
        gpu_count = plain(self.gpu_count)
        ram = plain(self.ram_size_gb)
        if gpu_type is not None and gpu_count is None:
            gpu_count = 1
        if isinstance(gpu_count, int) and gpu_count > 0 and self.gpu_type is None:
            msg = (
                f"Provisioning asks for gpu_count={gpu_count} without a gpu_type;"
                " set gpu_type (a model such as 'A100', or ANY for any model)"
            )
            raise ProvisioningError(msg)
        assert cpu_type is None or isinstance(cpu_type, str)
        assert cpu_count is None or isinstance(cpu_count, int)
        assert gpu_type is None or isinstance(gpu_type, str)
        assert gpu_count is None or isinstance(gpu_count, int)
        assert ram is None or isinstance(ram, int | float)
        return Resources(
            cpu_type=cpu_type,
            cpu_count=cpu_count,
            gpu_type=gpu_type,
            gpu_count=gpu_count,
            ram_size_gb=ram,
        )

    def resolve(self, machines: Iterable[MachineSpec]) -> MachineSpec:
        """The smallest of ``machines`` that satisfies this provisioning.

        Smallest means fewest GPUs, then fewest cores, then least memory. Raises
        :class:`~lzy.exceptions.ProvisioningError` listing what each machine lacks when none
        satisfies it.
        """
        wanted = self.requirements()
        candidates: Sequence[MachineSpec] = list(machines)
        chosen = wanted.smallest_fit(candidates)
        if chosen is not None:
            return chosen
        if not candidates:
            msg = "no machine specs to choose from"
            raise ProvisioningError(msg)
        reasons = "; ".join(f"{m.name} lacks {', '.join(wanted.shortfalls(m))}" for m in candidates)
        msg = f"no machine satisfies {self!r}: {reasons}"
        raise ProvisioningError(msg)


#: The fields of :class:`Provisioning`, in declaration order.
_FIELDS: Final = tuple(f.name for f in dataclasses.fields(Provisioning))
#: The values of a provisioning's fields, in declaration order.
_VALUES: Final = operator.attrgetter(*_FIELDS)


def _names(provisioning: Provisioning) -> tuple[str, ...]:
    if type(provisioning) is Provisioning:
        return _FIELDS
    return tuple(f.name for f in dataclasses.fields(provisioning))
