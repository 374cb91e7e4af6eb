"""Fixtures of ``cadenza serve``'s app over a tiny model (``tiny``, from conftest), shared by the tests of the
jobs API and of the studio: import them into a test module by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cadenza.serve import ServeConfig
from cadenza.serve.app import create_app
from cadenza.serve.store import SqliteJobStore


@pytest.fixture()
def config(tmp_path: Path, tiny: Path) -> ServeConfig:
    return ServeConfig(data=tmp_path / "data", checkpoint=tiny, threads=1, poll_s=0.05)


@pytest.fixture()
def store(config: ServeConfig) -> SqliteJobStore:
    return SqliteJobStore(config.data, config.max_attempts)


@pytest.fixture()
def client(config: ServeConfig, store: SqliteJobStore) -> Iterator[TestClient]:
    with TestClient(create_app(config, store)) as test_client:
        yield test_client
