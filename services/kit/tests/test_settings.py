import pytest
from messaging_kit.settings import DatabaseSettings, describe_error, load_settings
from pydantic import ValidationError


def test_describe_error_names_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("PORT", "seventy")
    with pytest.raises(ValidationError) as caught:
        DatabaseSettings()
    line = describe_error(caught.value)
    assert "DATABASE_URL is required" in line
    assert "PORT" in line
    assert "\n" not in line


def test_load_settings_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    with pytest.raises(SystemExit) as caught:
        load_settings(DatabaseSettings, "demo")
    assert caught.value.code == 2
