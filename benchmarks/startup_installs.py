"""The tools `benchmarks/startup.py` compares, each installed into a throwaway virtualenv under
the root it is given: commitizen from the package index, mlrelease from a wheel of this
checkout (as users install it, without the editable finder on the import path)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

INSTALL_TIMEOUT_S = 300
VERSION_TIMEOUT_S = 30


def install_commitizen(root: Path, env: dict[str, str]) -> tuple[Path | None, str]:
    """(path to `cz`, version) or (None, why it could not be installed)."""
    venv = root / "cz-venv"
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", str(venv)],
            env=env,
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT_S,
        )
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "commitizen"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
        )
        version = subprocess.run(
            [str(venv / "bin" / "cz"), "version"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_S,
        ).stdout.strip()
    except subprocess.CalledProcessError as err:
        detail = (getattr(err, "stderr", "") or "").strip().splitlines()
        return None, detail[-1] if detail else str(err)
    except (subprocess.TimeoutExpired, OSError) as err:
        return None, str(err)
    return venv / "bin" / "cz", version


def installed_copy(root: Path, env: dict[str, str]) -> tuple[Path | None, str]:
    """mlrelease installed from a wheel, as users install it (no editable finder on the
    import path), in a virtualenv that sees this one's dependencies: (its `mlrelease`, note)."""
    import site

    venv = root / "installed"
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
        )
        purelib = next(venv.glob("lib/python*/site-packages"))
        dependencies = [path for path in site.getsitepackages() if Path(path).is_dir()]
        (purelib / "dependencies.pth").write_text("\n".join(dependencies) + "\n")
        wheels = root / "wheels"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "-w",
                str(wheels),
                str(Path(__file__).resolve().parents[1]),
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT_S,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(venv / "bin" / "python"),
                "install",
                "--quiet",
                "--no-deps",
                "--no-index",
                *map(str, wheels.glob("*.whl")),
            ],
            env=env,
            check=True,
            capture_output=True,
            timeout=INSTALL_TIMEOUT_S,
        )
    except (subprocess.SubprocessError, OSError, StopIteration) as err:
        return None, f"could not install a copy: {err}"
    return venv / "bin" / "mlrelease", "installed from a wheel"
