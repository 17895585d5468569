"""Registries of named components, and the plugins that add to them.

A registry maps names to components (a reader per file suffix, a coder factory per coder
name). A name is registered once: a second registration is an error, never a silent
overwrite. Third-party packages add components through entry points, as spaCy does: a
distribution declares, in its metadata,

    [project.entry-points."secprio.coders"]
    toy = "toy_secprio:make_coder"

and the registry loads the group the first time it is read (``load`` loads it again, for a
package installed while the process runs). Entry-point groups: ``secprio.readers`` (name: the
file suffix, value: a reader), ``secprio.coders`` (name: the coder, value: a factory taking the
project) and ``secprio.sections`` (value: a module whose report sections register themselves).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar, cast

from secprio.errors import DuplicateName, PluginError, UnknownName

T = TypeVar("T")


def entry_points(group: str) -> list[importlib.metadata.EntryPoint]:
    """The installed entry points of ``group``, one per name (the first found wins, as
    ``importlib.metadata`` lists distributions in ``sys.path`` order)."""
    seen: dict[str, importlib.metadata.EntryPoint] = {}
    for ep in importlib.metadata.entry_points(group=group):
        seen.setdefault(ep.name, ep)
    return list(seen.values())


def load_entry_point(ep: importlib.metadata.EntryPoint) -> object:
    """The object an entry point names; a broken plugin names its distribution and the fix."""
    dist = ep.dist.name if ep.dist is not None else "an installed package"
    try:
        return ep.load()
    except Exception as exc:  # a plugin's own bug must not read as secprio's
        raise PluginError(
            f"the plugin {ep.name!r} ({ep.value}) of {dist} in {ep.group} cannot be loaded: "
            f"{type(exc).__name__}: {exc}",
            hint=f"fix or uninstall {dist} (pip uninstall {dist})",
            code="E010",
        ) from exc


class Registry(Mapping[str, T], Generic[T]):
    """Named components of one kind (``kind``: what an error calls them), with plugins from
    the entry-point ``group``. Read it as a mapping; add to it with ``add`` or ``register``."""

    def __init__(self, kind: str, group: str, *, plural: str = "") -> None:
        self.kind, self.group, self.plural = kind, group, plural or f"{kind}s"
        self._items: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._loaded = False

    def add(self, name: str, item: T, *, origin: str = "secprio") -> T:
        """Register ``item`` as ``name``; a name already taken is refused."""
        if name in self._items:
            raise DuplicateName(
                f"two {self.plural} are called {name!r}: {self._origin[name]} and {origin}",
                hint=f"give one of them another name (entry-point group {self.group})",
                code="E011",
            )
        self._items[name] = item
        self._origin[name] = origin
        return item

    def remove(self, name: str) -> None:
        """Take ``name`` out (a test that registered a component of its own)."""
        del self._items[name]
        del self._origin[name]

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of ``add``."""

        def wrap(item: T) -> T:
            return self.add(name, item, origin=_origin(item))

        return wrap

    def load(self) -> None:
        """Add the components installed packages declare in the entry-point group."""
        self._loaded = True
        for ep in entry_points(self.group):
            if self._origin.get(ep.name) == ep.value:
                continue  # loaded before
            item = load_entry_point(ep)
            if not callable(item):
                raise PluginError(
                    f"the plugin {ep.name!r} ({ep.value}) in {ep.group} is not a function",
                    hint=f"point the entry point at a {self.kind} (see docs/plugins.md)",
                    code="E013",
                )
            self.add(ep.name, cast(T, item), origin=ep.value)

    def get_or_fail(self, name: str) -> T:
        """The component ``name``; an unknown name lists the known ones."""
        if name not in self:
            raise UnknownName(
                f"unknown {self.kind} {name!r}",
                hint=f"use one of: {', '.join(self)}",
                code="E012",
            )
        return self[name]

    def _all(self) -> dict[str, T]:
        if not self._loaded:
            self.load()
        return self._items

    def __getitem__(self, name: str) -> T:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, name: object) -> bool:
        return name in self._all()


def _origin(item: object) -> str:
    module = getattr(item, "__module__", "") or ""
    name = getattr(item, "__qualname__", "") or type(item).__name__
    return f"{module}:{name}" if module else name
