"""Import kubernetes_asyncio without its 767 models and 65 API classes: what we use, on use.

`import kubernetes_asyncio` runs `client/__init__.py`, which imports every generated model
and API module: about 44 MB of a controller's RSS, for the handful of classes we touch
(CoreV1Api, CoordinationV1Api, the Lease models, ApiClient). Before anything imports the
library, `install()` puts light package modules in `sys.modules` for `kubernetes_asyncio`,
`.client`, `.client.api` and `.client.models`: their `__path__` is the real one (so every
submodule imports as usual) and a module `__getattr__` (PEP 562) imports a name's own module
the first time it is asked for. The name -> module maps are read from the package's own
`__init__.py` files, so they match the installed version exactly. The API client's
deserializer looks models up with `getattr(client.models, name)`: it gets them the same way.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any

ROOT = "kubernetes_asyncio"
PACKAGES = (f"{ROOT}.client.models", f"{ROOT}.client.api", f"{ROOT}.client")
_FROM_IMPORT = re.compile(r"^from (kubernetes_asyncio(?:\.[\w]+)+) import (\w+)$", re.MULTILINE)
_SUBPACKAGES = ("client", "config", "dynamic", "stream", "utils", "watch", "leaderelection")


def name_map(init_text: str) -> dict[str, str]:
    """`from M import N` lines of an `__init__.py` -> {N: M}."""
    return {name: module for module, name in _FROM_IMPORT.findall(init_text)}


def _package_dir() -> Path | None:
    spec = importlib.util.find_spec(ROOT)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _lazy_package(name: str, directory: Path, names: dict[str, str],
                  subpackages: tuple[str, ...] = ()) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__path__ = [str(directory)]
    module.__file__ = str(directory / "__init__.py")
    module.__package__ = name
    module.__all__ = sorted(names)  # type: ignore[attr-defined]

    def __getattr__(attribute: str) -> Any:
        if attribute in subpackages:
            value: Any = importlib.import_module(f"{name}.{attribute}")
        elif attribute in names:
            value = getattr(importlib.import_module(names[attribute]), attribute)
        else:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        setattr(module, attribute, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def install() -> bool:
    """Install the light packages unless the library is already imported; True if done."""
    if ROOT in sys.modules:
        return isinstance(sys.modules[ROOT], types.ModuleType) and hasattr(
            sys.modules[ROOT], "_k8s_aws_slim")
    directory = _package_dir()
    if directory is None:
        return False
    client_dir = directory / "client"
    top_names = name_map((client_dir / "__init__.py").read_text())
    top = _lazy_package(ROOT, directory, {}, _SUBPACKAGES)
    top.__version__ = _version(client_dir)  # type: ignore[attr-defined]
    top._k8s_aws_slim = True  # type: ignore[attr-defined]
    client = _lazy_package(f"{ROOT}.client", client_dir, top_names, ("api", "models"))
    api = _lazy_package(f"{ROOT}.client.api", client_dir / "api",
                        name_map((client_dir / "api" / "__init__.py").read_text()))
    models = _lazy_package(f"{ROOT}.client.models", client_dir / "models",
                           name_map((client_dir / "models" / "__init__.py").read_text()))
    for module in (top, client, api, models):
        sys.modules[module.__name__] = module
    return True


def _version(client_dir: Path) -> str:
    match = re.search(r'^__version__ = "([^"]+)"', (client_dir / "__init__.py").read_text(),
                      re.MULTILINE)
    return match.group(1) if match else ""
