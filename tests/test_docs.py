"""The docs cannot drift from the code: check ids, setting keys and the README's snippets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver

from chatwidget import conf

ROOT = Path(__file__).resolve().parents[1]
CHECK_ID = re.compile(r"chatwidget\.[EW][0-9]{3}")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_check_id_cited_in_the_docs_exists_in_checks_py() -> None:
    defined = set(re.findall(r'id="(chatwidget\.[EW][0-9]{3})"',
                             (ROOT / "chatwidget" / "checks.py").read_text()))
    cited = {(path.name, match) for path in documents()
             for match in CHECK_ID.findall(path.read_text())}
    assert defined, "no check ids found in checks.py"
    assert sorted(c for c in cited if c[1] not in defined) == []


def test_every_check_is_described_in_checks_md() -> None:
    defined = set(re.findall(r'id="(chatwidget\.[EW][0-9]{3})"',
                             (ROOT / "chatwidget" / "checks.py").read_text()))
    described = set(re.findall(r"\*\*(chatwidget\.[EW][0-9]{3})\*\*",
                               (ROOT / "docs" / "checks.md").read_text()))
    assert sorted(defined - described) == []


def documented_setting_keys() -> set[str]:
    """Keys in the tables of the CHATWIDGET sections (before Django's own settings)."""
    text = (ROOT / "docs" / "settings.md").read_text()
    chatwidget_part = text.split("## Settings chatwidget expects from Django")[0]
    return set(re.findall(r"^\| `([A-Z_]+)` \|", chatwidget_part, flags=re.MULTILINE))


def test_every_documented_setting_exists_and_every_setting_is_documented() -> None:
    documented = documented_setting_keys()
    assert sorted(documented - set(conf.DEFAULTS)) == [], "documented but not in conf"
    assert sorted(set(conf.DEFAULTS) - documented) == [], "in conf but not documented"


def test_settings_cited_in_prose_exist() -> None:
    cited = {(path.name, key) for path in documents()
             for key in re.findall(r'CHATWIDGET\["([A-Z_]+)"\]', path.read_text())}
    assert sorted(c for c in cited if c[1] not in conf.DEFAULTS) == []


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def readme_block(containing: str) -> str:
    blocks = [b for b in python_blocks((ROOT / "README.md").read_text()) if containing in b]
    assert len(blocks) == 1, f"expected one README python block with {containing!r}"
    return blocks[0]


@pytest.mark.django_db
def test_readme_urls_snippet_imports_what_it_uses_and_mounts_the_api() -> None:
    namespace: dict = {}
    exec(compile(readme_block("include(\"chatwidget.urls\")"), "README urls.py", "exec"),
         namespace)
    patterns = namespace["urlpatterns"]
    resolvers = [p for p in patterns if isinstance(p, URLResolver)]
    assert [str(r.pattern) for r in resolvers] == ["chatwidget/"]
    assert all(isinstance(p, URLPattern | URLResolver) for p in patterns)


def test_readme_asgi_snippet_imports_what_it_uses() -> None:
    namespace: dict = {}
    source = readme_block("ProtocolTypeRouter").replace("yourproject.settings",
                                                        "project.settings")
    exec(compile(source, "README asgi.py", "exec"), namespace)
    assert "application" in namespace
