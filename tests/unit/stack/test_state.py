"""The state directory: private when created, and a purge deletes only what ``up`` created."""

from __future__ import annotations

import getpass
import io
import stat
from pathlib import Path

import pytest

from stack import state as stack_state
from stack.components.base import service_home
from stack.credentials import load_or_create
from stack.errors import CorruptState
from stack.settings import StackSettings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def external_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "var-lib-scv"
    monkeypatch.setattr(stack_state, "EXTERNAL_ROOT", root)
    return root


@pytest.fixture
def settings(tmp_path: Path) -> StackSettings:
    return StackSettings(state_dir=tmp_path / "state")


def test_up_creates_the_state_and_its_directories_0700_and_the_marker(
    settings: StackSettings,
) -> None:
    stack_state.create(settings)
    for path in (settings.state_dir, *(settings.state_dir / n for n in stack_state.STATE_DIRS)):
        assert _mode(path) == 0o700, path
    assert (settings.state_dir / stack_state.MARKER).is_file()


def test_an_existing_directory_keeps_its_mode(settings: StackSettings) -> None:
    settings.state_dir.mkdir(mode=0o755)
    settings.state_dir.chmod(0o755)
    stack_state.create(settings)
    assert _mode(settings.state_dir) == 0o755
    assert _mode(settings.logs_dir) == 0o700


def test_credentials_create_the_state_dir_0700(settings: StackSettings) -> None:
    load_or_create(settings.state_dir, environ={})
    assert _mode(settings.state_dir) == 0o700


def test_purge_without_the_marker_refuses_and_deletes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "thesis.tex").write_text("years of work")
    (home / "secrets.env").write_text("mine")
    with pytest.raises(CorruptState, match=r"no \.scv-stack marker.*refusing") as err:
        stack_state.purge(StackSettings(state_dir=home))
    assert err.value.exit_code == 2
    assert (home / "data" / "thesis.tex").read_text() == "years of work"
    assert (home / "secrets.env").exists()


def test_purge_deletes_what_up_created_and_nothing_else(settings: StackSettings) -> None:
    stack_state.create(settings)
    load_or_create(settings.state_dir, environ={})
    (settings.data_dir / "kafka").mkdir()
    (settings.data_dir / "kafka" / "meta.properties").write_text("x")
    (settings.logs_dir / "kafka.log").write_text("log")
    (settings.state_dir / "cache").mkdir()
    (settings.state_dir / "cache" / "a.jar").write_text("jar")
    (settings.state_dir / "notes.txt").write_text("the user's")

    deleted = stack_state.purge(settings)

    assert {p.name for p in deleted} == {"logs", "run", "data", "conf", "secrets.env"}
    assert sorted(p.name for p in settings.state_dir.iterdir()) == ["cache", "notes.txt"]
    assert not stack_state.purge(settings)  # a second purge: nothing left of ours, no error


def test_purge_never_follows_a_symlink_out_of_the_state_dir(
    settings: StackSettings, tmp_path: Path, external_root: Path
) -> None:
    outside = tmp_path / "outside"
    (outside / "precious").mkdir(parents=True)
    (outside / "precious" / "file").write_text("keep")
    (outside / "log-target").mkdir()
    (outside / "log-target" / "file").write_text("keep")
    stack_state.create(settings)
    (settings.data_dir / "postgres").symlink_to(outside / "precious")
    (settings.data_dir / "inner").mkdir()
    (settings.data_dir / "inner" / "link").symlink_to(outside / "precious")
    settings.logs_dir.rmdir()
    settings.logs_dir.symlink_to(outside / "log-target")
    (settings.state_dir / "secrets.env").symlink_to(outside / "precious" / "file")

    stack_state.purge(settings)

    assert (outside / "precious" / "file").read_text() == "keep"
    assert (outside / "log-target" / "file").read_text() == "keep"
    assert not settings.logs_dir.is_symlink()
    assert not settings.data_dir.exists()


def test_purge_deletes_recorded_external_data_only_under_the_external_root(
    settings: StackSettings, tmp_path: Path, external_root: Path
) -> None:
    ours = external_root / "abc123" / "postgres"
    (ours / "pgdata").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    sneaky = external_root / "abc123" / "sneaky"
    sneaky.symlink_to(elsewhere)
    stack_state.create(settings)
    for path in (ours, elsewhere, sneaky, external_root):
        stack_state.record_external(settings, path)

    deleted = stack_state.purge(settings)

    assert ours in deleted
    assert not ours.exists()
    assert elsewhere.is_dir()  # recorded, but not under the external root
    assert sneaky.is_symlink()  # a symlink under it is not followed either
    assert external_root.is_dir()


def test_a_service_home_outside_the_state_dir_is_recorded_private_and_purged(
    settings: StackSettings, external_root: Path
) -> None:
    stack_state.create(settings)  # data/ is 0700: another user could not reach it
    home = service_home(settings, "postgres", getpass.getuser())
    assert home.parent.parent == external_root
    assert (settings.data_dir / "postgres").resolve() == home
    assert _mode(home) == 0o700
    (home / "pgdata").mkdir()

    stack_state.purge(settings)

    assert not home.exists()
    assert not home.parent.exists()  # the per-state-dir folder, now empty
    assert not (settings.data_dir / "postgres").is_symlink()


def test_a_marker_that_is_not_ours_is_refused(settings: StackSettings) -> None:
    stack_state.create(settings)
    (settings.state_dir / stack_state.MARKER).write_text("not json")
    with pytest.raises(CorruptState, match="not the marker"):
        stack_state.purge(settings)
    assert settings.data_dir.is_dir()


def test_down_and_status_on_a_purged_state_dir_create_nothing_and_purge_again_cleanly(
    settings: StackSettings,
) -> None:
    from rich.console import Console

    from stack import launcher

    stack_state.create(settings)
    load_or_create(settings.state_dir, environ={})
    (settings.state_dir / "cache").mkdir()
    console = Console(file=io.StringIO())
    launcher.down(settings, console, purge=True)
    assert sorted(p.name for p in settings.state_dir.iterdir()) == ["cache"]

    assert {row.state for row in launcher.status(settings)} == {"down"}
    launcher.down(settings, console, purge=True)  # a second purge: nothing of ours is left

    assert sorted(p.name for p in settings.state_dir.iterdir()) == ["cache"]
