"""The core's entry points as ``pyproject.toml`` declares them, for a checkout whose installed metadata is older.

An editable install records the entry points it was installed with; a built-in plugin added since is not
found until the package is installed again. Until then the tests put a copy of the core's metadata,
written from ``pyproject.toml``, first on the path, so built-in plugins are still found through their
entry points (as a fixture distribution's are), never through a shortcut.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path


def ensure_core_entry_points(root: Path) -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: rely on the installed metadata
        return
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups: dict[str, dict[str, str]] = {"console_scripts": project.get("scripts", {}),
                                         **project.get("entry-points", {})}
    try:
        installed = {(ep.group, ep.name, ep.value) for ep in metadata.distribution(project["name"]).entry_points}
    except metadata.PackageNotFoundError:
        installed = set()
    if all((group, name, value) in installed for group, points in groups.items() for name, value in points.items()):
        return
    site = Path(tempfile.mkdtemp(prefix="promptstyles-metadata-"))
    atexit.register(shutil.rmtree, site, ignore_errors=True)
    info = site / f"{project['name']}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in points.items()) + "\n"
        for group, points in groups.items()
    ))
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(site), os.environ.get("PYTHONPATH"))))
