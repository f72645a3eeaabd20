"""Without OTELGUARD_API_KEY the first start generates a key and prints it once; it works; a restart
prints none and keeps it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from platform_process import Platform


def test_generated_key_is_printed_once_and_works(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data", api_key="", env={"OTELGUARD_API_KEY": ""})
    platform.start()
    try:
        match = re.search(
            r"API key for project 'default' \(shown once, stored hashed\): (sk-og-\S+)", platform.logs()
        )
        assert match, platform.logs()
        key = match.group(1)
        ok = httpx.get(f"{platform.api_url}/api/v1/traces", headers={"authorization": f"Bearer {key}"})
        assert ok.status_code == 200
        platform.stop()
        platform.start()
        assert platform.logs().count("shown once") == 1
        again = httpx.get(f"{platform.api_url}/api/v1/traces", headers={"authorization": f"Bearer {key}"})
        assert again.status_code == 200
    finally:
        platform.close()
