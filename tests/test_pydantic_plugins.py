"""The pydantic plugin-lookup shortcut answers exactly what pydantic's own loader would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from hicachectl.pydantic_plugins import declares_group


def _dist(root: Path, name: str, entry_points: str | None) -> None:
    info = root / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


def test_declares_group_reads_dist_info_sections(tmp_path):
    _dist(tmp_path, "other", "[console_scripts]\nfoo = foo:main\n")
    _dist(tmp_path, "plain", None)
    missing = tmp_path / "nowhere"
    assert declares_group([str(tmp_path), str(missing)]) is False
    _dist(tmp_path / "b", "plug", "[console_scripts]\nx = y:z\n\n [ pydantic ] \np = plug:P\n")
    assert declares_group([str(tmp_path), str(tmp_path / "b")]) is True


def test_declares_group_egg_info_and_egg_dirs(tmp_path):
    egg = tmp_path / "thing.egg" / "EGG-INFO"
    egg.mkdir(parents=True)
    (egg / "entry_points.txt").write_text("[pydantic]\np = thing:P\n")
    assert declares_group([str(tmp_path / "thing.egg")]) is True
    info = tmp_path / "x" / "other.egg-info"
    info.mkdir(parents=True)
    (info / "entry_points.txt").write_text("[pydantic_extra]\np = thing:P\n")
    assert declares_group([str(tmp_path / "x")]) is False


def test_a_zip_on_the_path_is_left_to_importlib_metadata(tmp_path):
    archive = tmp_path / "lib.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("mod.py", "")
    assert declares_group([str(archive)]) is None


def _run(code: str, extra_path: Path | None = None) -> str:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(extra_path), env.get("PYTHONPATH")) if p
        )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout.strip()


_PROBE = textwrap.dedent(
    """
    import sys
    import hicachectl.models as m
    m.HardwareSnapshot.model_validate(
        {"hostname": "h", "host": {"memory_total_bytes": 1, "memory_available_bytes": 1}}
    )
    loader = sys.modules["pydantic.plugin._loader"]
    print(getattr(loader, "__hicachectl_stand_in__", False), "importlib.metadata" in sys.modules)
    """
)


def test_no_plugin_declared_spares_importlib_metadata():
    if declares_group(sys.path) is not False:  # a pydantic plugin is installed here
        return
    assert _run(_PROBE) == "True False"


def test_a_declared_plugin_is_loaded_by_pydantic(tmp_path):
    (tmp_path / "myplug.py").write_text(
        textwrap.dedent(
            """
            SEEN = []

            class Plugin:
                def new_schema_validator(self, schema, schema_type, path, kind, config, settings):
                    SEEN.append(path.name)
                    return None, None, None

            plugin = Plugin()
            """
        )
    )
    _dist(tmp_path, "myplug", "[pydantic]\nmyplug = myplug:plugin\n")
    code = _PROBE + "\nimport myplug; print({'GPU', 'HardwareSnapshot'} <= set(myplug.SEEN))\n"
    assert _run(code, tmp_path).splitlines() == ["False True", "True"]


def test_stand_in_hands_other_names_to_the_real_loader():
    if declares_group(sys.path) is not False:
        return
    out = _run(
        """
        import hicachectl.models
        import pydantic.plugin._loader as loader
        print(list(loader.get_plugins()), loader.PYDANTIC_ENTRY_POINT_GROUP, loader._plugins)
        """
    )
    assert out == "[] pydantic None"
