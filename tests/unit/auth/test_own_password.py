"""Whether the current user could unlock with their own password: never when the PAM service is missing."""

from pathlib import Path

from tui.auth import own_password_usable


def test_no_pam_service_file_means_no_usable_password(tmp_path: Path) -> None:
    assert own_password_usable("hascreen-no-such-service", pam_dir=tmp_path) is False
    assert own_password_usable("../login", pam_dir=Path("/etc/pam.d")) is False
