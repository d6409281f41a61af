"""Cosign's simple-signing payload and ECDSA P-256 signatures; keys from settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrelease.config.settings import load_settings
from mlrelease.errors import ConfigError
from mlrelease.supply.attach import cosign_config, referrers_tag, signature_tag
from mlrelease.supply.signing import (
    load_public_key,
    load_signer,
    payload_digest,
    public_key_pem,
    simple_signing_payload,
    verify_signature,
)
from tests.unit.supply.keys import new_key_pair

DIGEST = "sha256:" + "ab" * 32


def test_the_payload_is_cosigns_byte_for_byte() -> None:
    payload = simple_signing_payload("gcr.io/p/img", DIGEST)
    assert payload == (
        b'{"critical":{"identity":{"docker-reference":"gcr.io/p/img"},'
        b'"image":{"docker-manifest-digest":"' + DIGEST.encode() + b'"},'
        b'"type":"cosign container image signature"},"optional":null}'
    )
    assert payload_digest(payload) == DIGEST
    assert payload_digest(b'{"critical": {"type": "other"}}') is None


def test_tags_and_config_follow_the_spec() -> None:
    assert signature_tag(DIGEST) == f"sha256-{'ab' * 32}.sig"
    assert referrers_tag(DIGEST) == f"sha256-{'ab' * 32}"
    config = json.loads(cosign_config(["sha256:1", "sha256:2"]))
    assert config == {
        "architecture": "",
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}] * 2,
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": ["sha256:1", "sha256:2"]},
        "config": {},
    }


def _settings(tmp_path: Path, **env: str):
    return load_settings(tmp_path, env=env)


def test_sign_then_verify_with_the_derived_and_the_given_key(tmp_path: Path) -> None:
    keys = new_key_pair()
    key_file = tmp_path / "cosign.key"
    key_file.write_text(keys.private_pem)
    signer = load_signer(_settings(tmp_path, MLRELEASE_SIGNING_KEY=str(key_file)))
    payload = simple_signing_payload("r", DIGEST)
    signature = signer.sign(payload)
    derived = load_public_key(_settings(tmp_path, MLRELEASE_SIGNING_KEY=keys.private_pem))
    given = load_public_key(_settings(tmp_path, MLRELEASE_VERIFY_KEY=keys.public_pem))
    assert public_key_pem(derived) == public_key_pem(given) == keys.public_pem
    assert verify_signature(given, payload, signature)
    assert not verify_signature(given, payload.replace(b"ab", b"cd"), signature)
    assert not verify_signature(given, payload, "bm90IGEgc2lnbmF0dXJl")
    assert not verify_signature(
        load_public_key(_settings(tmp_path, MLRELEASE_VERIFY_KEY=new_key_pair().public_pem)),
        payload,
        signature,
    )


def test_a_bad_signing_key_is_a_config_error_that_shows_no_key(tmp_path: Path) -> None:
    pem = new_key_pair().private_pem.replace("A", "B", 3)
    with pytest.raises(ConfigError) as raised:
        load_signer(_settings(tmp_path, MLRELEASE_SIGNING_KEY=pem))
    assert "PRIVATE KEY" not in str(raised.value) + raised.value.hint
    with pytest.raises(ConfigError, match="neither a PEM nor a readable file"):
        load_signer(_settings(tmp_path, MLRELEASE_SIGNING_KEY=str(tmp_path / "absent.pem")))


def test_the_signing_key_is_masked_and_refused_in_pyproject(tmp_path: Path) -> None:
    keys = new_key_pair()
    report = _settings(tmp_path, MLRELEASE_SIGNING_KEY=keys.private_pem).report()
    entry = next(e for e in report.entries if e.key == "signing_key")
    assert entry.value == "********"
    (tmp_path / "pyproject.toml").write_text('[tool.mlrelease]\nsigning_key = "x"\n')
    with pytest.raises(ConfigError, match="leaked key"):
        _settings(tmp_path)
