"""Target SGLang version: explicit, installed sglang, ai-dynamo's pin, else 0.5.21."""

from __future__ import annotations

import pytest

from hicachectl.sglang import version as ver


class _Dist:
    def __init__(self, version, requires=None):
        self.version = version
        self.requires = requires


@pytest.fixture
def dists(monkeypatch):
    installed: dict[str, _Dist] = {}

    monkeypatch.setattr(ver, "_installed", installed.get)
    ver.detected_sglang_version.cache_clear()
    yield installed
    ver.detected_sglang_version.cache_clear()


def test_explicit_wins(dists):
    dists["sglang"] = _Dist("0.5.23")
    assert ver.target_sglang_version("0.5.21") == ("0.5.21", None)


def test_installed_sglang(dists):
    dists["sglang"] = _Dist("0.5.23")
    dists["ai-dynamo"] = _Dist("1.6.1", ["sglang[diffusion]==0.5.21; extra == 'sglang'"])
    assert ver.target_sglang_version(None) == ("0.5.23", None)


def test_dynamo_pin(dists):
    dists["ai-dynamo"] = _Dist(
        "1.6.1", ["uvloop", "sglang[diffusion]==0.5.21; extra == 'sglang'", "vllm==0.9"]
    )
    assert ver.target_sglang_version(None) == ("0.5.21", None)


def test_fallback(dists):
    assert ver.target_sglang_version(None) == ("0.5.21", None)
    dists["ai-dynamo"] = _Dist("9.9", ["sglang>=0.5"])  # no exact pin
    ver.detected_sglang_version.cache_clear()
    assert ver.target_sglang_version(None) == ("0.5.21", None)


def test_between_tables_says_so_once(dists):
    v, note = ver.target_sglang_version("0.5.22")
    assert v == "0.5.22"
    assert note == (
        "SGLang 0.5.22 (--sglang-version) has no flag table; using the nearest lower one, "
        "0.5.21 (known: 0.5.21, 0.5.23)"
    )
    dists["sglang"] = _Dist("0.5.24rc1")
    assert "nearest lower one, 0.5.23" in ver.target_sglang_version(None)[1]


def test_pin_parser():
    assert ver.dynamo_sglang_pin(["sglang == 0.5.21 ; extra == 'sglang'"]) == "0.5.21"
    assert ver.dynamo_sglang_pin(["sglang-router==0.3", "sglang>=0.5"]) is None
    assert ver.dynamo_sglang_pin(None) is None


def test_never_imports_sglang(dists, monkeypatch):
    import builtins

    real = builtins.__import__

    def guard(name, *a, **k):
        assert not name.startswith("sglang"), "sglang must never be imported"
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", guard)
    dists["sglang"] = _Dist("0.5.23")
    assert ver.target_sglang_version(None)[0] == "0.5.23"


def test_reads_dist_info_on_sys_path(tmp_path, monkeypatch):
    info = tmp_path / "ai_dynamo-1.6.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ai-dynamo\nVersion: 1.6.1\n"
        "Requires-Dist: uvloop\nRequires-Dist: sglang[diffusion]==0.5.21; extra == 'sglang'\n"
        "\nRequires-Dist: not-a-header\n"
    )
    monkeypatch.setattr("sys.path", [str(tmp_path / "missing"), str(tmp_path)])
    dist = ver._installed("ai-dynamo")
    assert dist == ver.Dist("1.6.1", ["uvloop", "sglang[diffusion]==0.5.21; extra == 'sglang'"])
    assert ver._installed("sglang") is None
    ver.detected_sglang_version.cache_clear()
    try:
        assert ver.detected_sglang_version() == ("0.5.21", None)
    finally:
        ver.detected_sglang_version.cache_clear()
