import subprocess
import sys


def test_a_service_with_a_missing_setting_prints_one_line_and_no_traceback() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "auth_service", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("messaging-auth: bad settings:")
    assert "DATABASE_URL is required" in lines[0]
    assert "Traceback" not in result.stderr
