"""Sphinx configuration of lzy's documentation.

Everything on the pages that comes from the code (the reference, the keyword tables, the merge
table, the outputs of the examples) is generated while the docs build, by autodoc and by the
``lzy_docs`` extension in ``_ext/``.
"""

from __future__ import annotations

import os
import sys
import tomllib
import warnings
from pathlib import Path

from sphinx.deprecation import RemovedInSphinx10Warning

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

from lzy_docs import shown_typehint  # noqa: E402 - from docs/_ext, put on the path above

import lzy  # noqa: E402 - documents the checkout the docs belong to

# sphinx-autodoc-typehints calls an API Sphinx 10 removes; it is not ours to fix and says nothing
# about these docs.
warnings.filterwarnings("ignore", category=RemovedInSphinx10Warning, module="sphinx_autodoc_typehints.*")

project = "lzy"
author = "the lzy authors"
copyright = "the lzy authors"
release = lzy.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "sphinx_autodoc_typehints",
    "sphinx_copybutton",
    "lzy_docs",
    "lzy_cli_docs",
]

exclude_patterns = ["_build", "_intersphinx"]
html_theme = "furo"
html_title = f"lzy {release}"
html_static_path = ["_static"]
# Tables and long messages wrap instead of being cut off at narrow widths.
html_css_files = ["lzy.css"]

# The Pythons lzy supports, from the project's metadata, for the install section.
_PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
_PYTHONS = [
    c.rpartition(" :: ")[2] for c in _PROJECT["classifiers"] if c.count("::") == 2 and "Python :: 3." in c
]
rst_epilog = f"""
.. |requires-python| replace:: ``{_PROJECT["requires-python"]}``
.. |tested-pythons| replace:: {", ".join(_PYTHONS)}
"""

# Copy buttons leave out console prompts and the output shown after them.
copybutton_prompt_text = r"\$ |>>> |\.\.\. "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = False

# The reference is generated from the code: members in source order, defaults as written.
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autodoc_default_options = {"show-inheritance": True}
autodoc_typehints = "description"
typehints_use_signature = False
typehints_use_signature_return = False
always_document_param_types = False
typehints_defaults = "comma"
# Type variables as what they stand for, never TypeVar(...) or ParamSpec(...).
typehints_formatter = shown_typehint
# A function in the configuration (the formatter above) only means the environment is not
# cached between builds; the build is from scratch (-E) anyway.
suppress_warnings = ["config.cache"]

# The Python docs' inventory ships in the repository (docs/_intersphinx), so the build needs no
# network and no system package; refresh it with the inventory of a newer Python's docs.
PYTHON_INVENTORY = DOCS / "_intersphinx" / "python-3.11.inv"
intersphinx_mapping = {"python": ("https://docs.python.org/3.11", str(PYTHON_INVENTORY))}

# Every reference must resolve (``-n`` on the command line says the same).
nitpicky = True
nitpick_ignore: list[tuple[str, str]] = [
    # FrozenMap is the private immutable Mapping behind mapping-valued fields; it is read as any
    # other Mapping and deliberately kept out of the public API.
    ("py:class", "lzy.env._base.FrozenMap"),
    # OpTarget is the marker by which the env layer knows ops without importing lzy.core; the
    # decorators' text says they apply to an op.
    ("py:class", "lzy.env._base.OpTarget"),
    # _Function is how checkers tell a function from an op; the text of op() says it takes one.
    ("py:class", "lzy.core.op._Function"),
]
nitpick_ignore_regex: list[tuple[str, str]] = [
    # Private type variables (_P, _R, _O) in generic signatures: they have no page of their own;
    # the signature and the text around it say what they stand for.
    (r"py:(class|obj)", r"(typing\.)?(lzy(\.\w+)*\.)?~?_[A-Z]"),
]

# The examples run while the docs build, in this process (doctest, ``lzy-run``) or in a child
# (``lzy-script``). They must not depend on the machine that builds the docs: no Docker
# credentials of its user, and a package-index cache of their own.
_SANDBOX = DOCS / "_build" / ".sandbox"
(_SANDBOX / "docker").mkdir(parents=True, exist_ok=True)
os.environ["DOCKER_CONFIG"] = str(_SANDBOX / "docker")
os.environ["LZY_CACHE_DIR"] = str(_SANDBOX / "cache")
# The examples show the default index as a user without pip configuration gets it.
os.environ["PIP_CONFIG_FILE"] = os.devnull
for _name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
    os.environ.pop(_name, None)
