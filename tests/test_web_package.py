"""The dashboard's templates and static files are in the wheel: no build step at install."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from venvs import build_wheel, fresh_environment

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_carries_the_templates_and_static_files_and_they_load(tmp_path: Path) -> None:
    wheel = build_wheel(ROOT, tmp_path / "wheel")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {*(ROOT / "web" / "templates").glob("*.html"), *(ROOT / "web" / "static").iterdir()}
    assert any(path.suffix == ".html" for path in shipped), shipped  # the loop checks some
    for path in shipped:
        assert f"coffeechat/web/{path.parent.name}/{path.name}" in names, path
    python, _ = fresh_environment(tmp_path / "venv", [wheel])
    probe = (
        "from importlib import resources\n"
        "from coffeechat.web.html import render\n"
        "page = render('message.html', title='<hi>', text='there')\n"
        "assert page == '<h1>&lt;hi&gt;</h1>\\n<p>there</p>\\n', repr(page)\n"
        "web = resources.files('coffeechat.web')\n"
        "print(len(web.joinpath('static', 'app.js').read_bytes()) > 0)\n"
    )
    completed = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "True\n"
