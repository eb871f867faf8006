"""Lazy exports: a package whose public names load their module the first time they are asked for.

``import utils`` and ``import utils.<subpackage>`` stay cheap (no torch, matplotlib or scikit-learn until a name
needs them), and every public name has one home, its module.  A package's ``__init__`` writes::

    _EXPORTS = {"module": ["name", ...], ...}
    __getattr__, __dir__, __all__, _WHERE = lazy_exports(__name__, _EXPORTS)

>>> getattr_, dir_, names, where = lazy_exports("utils", {"files": ["write_json"]})
>>> names, where, getattr_("write_json").__module__
(['write_json'], {'write_json': 'files'}, 'utils.files')
"""
from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping, Sequence

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]], *, modules: bool = False
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str], dict[str, str]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``, its ``__all__`` and ``{name: module}``.

    ``exports``: module (relative to ``package``, dotted for a subpackage's module) -> its public names.
    ``modules``: the modules themselves are public names too (a subpackage's ``plots``, ``endings``, ...).
    """
    where = {name: module for module, names in exports.items() for name in names}
    public = sorted(where) + (sorted(exports) if modules else [])

    def __getattr__(name: str) -> Any:
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        if modules and name in exports:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__, public, where
