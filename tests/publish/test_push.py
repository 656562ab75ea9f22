"""`classit-data push` against a real HTTP server on 127.0.0.1 that speaks the Hub API (tests/publish/hub_server.py).

Every push and every load runs in a subprocess with HF_ENDPOINT pointing at the server, Xet off, a test
token and a temporary HF_HOME, the way a user runs them; nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from classit_data.dataset.build import build
from classit_data.dataset.config import BuildConfig
from tests.helpers import ROOT, validated_inputs
from tests.publish.hub_server import HubServer

TOKEN = "hf_test_Secret_7c1d2e3f4a5b"


@pytest.fixture
def hub(tmp_path):
    with HubServer(tmp_path / "hub", tokens={TOKEN: "alice"}) as server:
        yield server


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    rows = validated_inputs(tmp_path_factory.mktemp("rows"))
    out = tmp_path_factory.mktemp("built") / "CLASS_IT"
    build(
        rows["switchboard"], rows["wiki"], out, BuildConfig(val_fraction=0.2), passages=rows["passages"], progress=False
    )
    return out


def hub_env(hub: HubServer, home: Path, token: str | None = TOKEN) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(
        {
            "HF_ENDPOINT": hub.endpoint,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(home),
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
        }
    )
    if token is not None:
        env["HF_TOKEN"] = token
    return env


def push(env: dict, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "classit_data", "push", str(folder), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


def push_json(env: dict, folder: Path, *args: str) -> dict:
    r = push(env, folder, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


LOAD = """
import json, sys
from datasets import load_dataset
repo, configs, out = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
rev = sys.argv[4] if len(sys.argv) > 4 else None
for config in configs:
    ds = load_dataset(repo, config, revision=rev)
    for split in ds:
        ds[split].to_parquet(f"{out}/{config}-{split}.parquet")
"""


def load_through_hub(env: dict, repo_id: str, configs: list[str], out: Path, revision: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-c", LOAD, repo_id, ",".join(configs), str(out)] + ([revision] if revision else [])
    r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


def assert_same_as_folder(loaded: Path, folder: Path, configs=("switchboard", "simple_wiki", "merged")) -> None:
    for config in configs:
        for split in ("train", "validation"):
            local = pl.read_parquet(sorted((folder / config).glob(f"{split}-*.parquet")))
            remote = pl.read_parquet(loaded / f"{config}-{split}.parquet")
            assert remote.columns == local.columns
            assert remote.equals(local), (config, split)


def test_push_then_load_dataset_through_the_hub(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    result = push_json(env, dataset, "--repo-id", "alice/class-it", "--tag", "v1.0", "--commit-message", "First build")
    assert result["commit"] and result["unchanged"] is False and result["tag"]["created"]
    expected = set(json.loads((dataset / "build_info.json").read_text())["files"]) | {"build_info.json"}
    assert set(result["uploaded"]) == expected
    repo = hub.state.repos[("dataset", "alice/class-it")]
    head = repo.resolve("main")
    assert head.oid == result["commit"] and head.title == "First build"
    assert repo.tags["v1.0"] == head.oid
    assert set(head.files) == expected | {".gitattributes"}
    assert all(head.files[p].lfs for p in expected if p.endswith(".parquet"))
    assert len(repo.history("main")) == 2  # the repo's first commit and ours: one commit for the whole build

    load_through_hub(env, "alice/class-it", ["switchboard", "simple_wiki", "merged"], tmp_path / "loaded")
    assert_same_as_folder(tmp_path / "loaded", dataset)
    # the tag names the same data
    load_through_hub(env, "alice/class-it", ["switchboard"], tmp_path / "tagged", revision="v1.0")
    assert_same_as_folder(tmp_path / "tagged", dataset, configs=("switchboard",))


def test_pushing_unchanged_data_makes_no_commit(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    first = push_json(env, dataset, "--repo-id", "alice/same", "--tag", "v1")
    puts = hub.state.request_count("lfs-put")
    second = push_json(env, dataset, "--repo-id", "alice/same", "--tag", "v1")
    assert second["commit"] is None and second["unchanged"] is True
    assert second["uploaded"] == [] and second["deleted"] == []
    assert second["head"] == first["commit"] and second["tag"]["created"] is False
    assert hub.state.commit_count("alice/same") == 2
    assert hub.state.request_count("lfs-put") == puts
    assert hub.state.request_count("commit") == 1


def test_reshard_replaces_old_shards(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    push_json(env, dataset, "--repo-id", "alice/reshard")
    info = json.loads((dataset / "build_info.json").read_text())
    sw = [dataset / f["path"] for f in info["inputs"]["switchboard"]]  # named relative to the built folder
    wiki = [dataset / f["path"] for f in info["inputs"]["wiki"]]
    smaller = tmp_path / "smaller"
    build(
        sw,
        wiki,
        smaller,
        BuildConfig(val_fraction=0.2, max_shard_size="15KB"),
        passages=dataset / info["inputs"]["passages"]["path"],
        progress=False,
    )
    result = push_json(env, smaller, "--repo-id", "alice/reshard")
    assert "switchboard/train-00000-of-00001.parquet" in result["deleted"]
    head = hub.state.repos[("dataset", "alice/reshard")].resolve("main")
    local = {str(p.relative_to(smaller)) for p in smaller.rglob("*.parquet")}
    assert {p for p in head.files if p.endswith(".parquet")} == local
    load_through_hub(env, "alice/reshard", ["merged"], tmp_path / "loaded")
    assert_same_as_folder(tmp_path / "loaded", smaller, configs=("merged",))


def test_push_that_fails_midway_completes_on_rerun(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    # the second LFS upload fails with an error that is not transient: the push stops part-way
    hub.fail("lfs-put", status=507, times=1, after=1, retry_after=None)
    r = push(env, dataset, "--repo-id", "alice/flaky")
    assert r.returncode == 2, r.stderr
    assert "Rerun the same command" in r.stderr and "Traceback" not in r.stderr
    assert hub.state.commit_count("alice/flaky") == 1  # nothing committed
    uploaded_before = hub.state.request_count("lfs-put") - 1  # less the failed one
    assert uploaded_before >= 1
    n_lfs = sum(1 for p in dataset.rglob("*") if p.suffix in (".parquet", ".png"))
    rerun = push_json(env, dataset, "--repo-id", "alice/flaky")
    assert rerun["commit"] and hub.state.commit_count("alice/flaky") == 2
    sent_again = hub.state.request_count("lfs-put") - uploaded_before - 1
    assert sent_again == n_lfs - uploaded_before  # what was uploaded before is not sent again
    load_through_hub(env, "alice/flaky", ["simple_wiki"], tmp_path / "loaded")
    assert_same_as_folder(tmp_path / "loaded", dataset, configs=("simple_wiki",))


def test_transient_errors_are_retried(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    hub.fail("commit", status=503, times=1)  # huggingface_hub does not retry commits; we do
    hub.fail("lfs-put", status=503, times=1, after=2)  # this one huggingface_hub retries itself
    result = push_json(env, dataset, "--repo-id", "alice/retry")
    assert result["attempts"] == 2 and result["commit"]
    assert hub.state.commit_count("alice/retry") == 2  # exactly one commit of ours


def test_branch_and_private(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    result = push_json(env, dataset, "--repo-id", "alice/secret", "--private", "--revision", "dev")
    repo = hub.state.repos[("dataset", "alice/secret")]
    assert repo.private and repo.branches["dev"] == result["commit"]
    assert set(repo.resolve("main").files) == {".gitattributes"}
    anonymous = hub_env(hub, tmp_path / "anon", token=None)
    r = subprocess.run(
        [sys.executable, "-c", LOAD, "alice/secret", "merged", str(tmp_path), "dev"],
        capture_output=True,
        text=True,
        env=anonymous,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode != 0  # a private repo is not readable without a token


def test_missing_or_rejected_token(hub, dataset, tmp_path):
    home = tmp_path / "hf"
    none = push(hub_env(hub, home, token=None), dataset, "--repo-id", "alice/x")
    assert none.returncode == 2
    assert none.stderr.strip() == (
        "error: no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)"
    )
    wrong = push(hub_env(hub, home, token="hf_wrong_Secret_99"), dataset, "--repo-id", "alice/x")
    assert wrong.returncode == 2 and "rejected the token" in wrong.stderr
    assert "hf_wrong_Secret_99" not in wrong.stderr + wrong.stdout
    assert ("dataset", "alice/x") not in hub.state.repos


def test_token_is_never_printed_or_written(hub, dataset, tmp_path):
    home = tmp_path / "hf"
    env = hub_env(hub, home)
    r = push(env, dataset, "--repo-id", "alice/t")
    assert r.returncode == 0, r.stderr
    r2 = push(env, dataset, "--repo-id", "alice/t", "--json")
    for text in (r.stdout, r.stderr, r2.stdout, r2.stderr):
        assert TOKEN not in text
    for folder in (home, dataset, hub.root):
        for p in folder.rglob("*") if folder.exists() else []:
            if p.is_file():
                assert TOKEN.encode() not in p.read_bytes(), p


def test_refuses_folders_that_are_not_publishable(hub, dataset, tmp_path):
    env = hub_env(hub, tmp_path / "hf")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "data.parquet").write_bytes(b"PAR1")
    r = push(env, plain, "--repo-id", "alice/x")
    assert r.returncode == 2 and "not made by `classit-data build`" in r.stderr
    # a forced build (validation failed) is refused
    forced = tmp_path / "forced"
    import shutil

    shutil.copytree(dataset, forced)
    info = json.loads((forced / "build_info.json").read_text())
    info["validation"].update(passed=False, forced=True, quarantined=3)
    (forced / "build_info.json").write_text(json.dumps(info))
    r = push(env, forced, "--repo-id", "alice/x")
    assert r.returncode == 2 and "not publishable" in r.stderr
    # a data file changed after the build is refused
    tampered = tmp_path / "tampered"
    shutil.copytree(dataset, tampered)
    shard = next((tampered / "switchboard").glob("train-*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"\0")
    r = push(env, tampered, "--repo-id", "alice/x")
    assert r.returncode == 2 and "changed after the build" in r.stderr
    bad_id = push(env, dataset, "--repo-id", "not-a-repo-id")
    assert bad_id.returncode == 2 and "ORG/NAME" in bad_id.stderr
    assert ("dataset", "alice/x") not in hub.state.repos


def test_commit_batches_put_the_card_and_the_record_last(tmp_path):
    from classit_data.publish.push import MAX_OPERATIONS_PER_COMMIT, LocalFile, Plan, commit_batches

    def local(path: str) -> LocalFile:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x")
        return LocalFile(path, tmp_path / path, 1, "0" * 64, "")

    shards = [local(f"merged/train-{i:05d}-of-01500.parquet") for i in range(1500)]
    plan = Plan(add=[local("README.md"), *shards, local("build_info.json")], delete=["merged/old.parquet"])
    batches = commit_batches(plan)
    assert [len(b) for b in batches] == [MAX_OPERATIONS_PER_COMMIT, 503]
    assert batches[0][0].path_in_repo == "merged/old.parquet"  # deletions first
    assert [op.path_in_repo for op in batches[-1][-2:]] == ["README.md", "build_info.json"]
    small = commit_batches(Plan(add=[local("README.md"), shards[0]]))
    assert [[op.path_in_repo for op in b] for b in small] == [[shards[0].path, "README.md"]]


def test_an_existing_tag_is_refused_before_anything_is_committed(hub, dataset, tmp_path):
    with hub.state.lock:
        repo = hub.state.create_repo("dataset", "alice/tagged", False, "alice")
        repo.tags["v1"] = repo.branches["main"]  # v1 names a commit that does not hold this build
    before = repo.branches["main"]
    r = push(hub_env(hub, tmp_path / "hf"), dataset, "--repo-id", "alice/tagged", "--tag", "v1")
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "tag 'v1' already exists" in lines[0] and "--tag" in lines[0]
    assert repo.branches["main"] == before and hub.state.commit_count("alice/tagged") == 1
    assert hub.state.request_count("commit") == 0 and repo.tags == {"v1": before}


def test_negative_retries_is_one_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "classit_data", "push", str(tmp_path), "--repo-id", "alice/x", "--retries", "-1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    lines = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "--retries -1" in lines[0], lines
    assert "greater than or equal to 0" in lines[0]
