"""Publish a built dataset folder to the Hugging Face Hub, safely and idempotently.

- Only a folder made by ``classit-data build`` whose validation passed is pushed, and only the files its
  ``build_info.json`` lists, each checked against its recorded sha256 (the card may have been edited by
  hand; it must still carry the ``configs:`` metadata).
- The token comes from the caller, ``HF_TOKEN`` or the saved login; it is checked once (``whoami``) so a
  missing or rejected token gives one clear line. It is never printed or written.
- Before committing, the local files are compared with the remote tree (LFS sha256 for data files, git
  blob id for small ones): unchanged data makes no commit, and remote shards that the build no longer has
  (e.g. after a re-shard) are deleted in the same commit, so ``<config>/train-*`` never mixes builds.
- Everything goes in one commit (several only beyond ``MAX_OPERATIONS_PER_COMMIT`` files, card last).
- Transient failures (HTTP 408/429/5xx, dropped connections) are retried with backoff; each retry plans
  again from the remote state, so a commit that landed before its answer was lost is not made twice. A
  push that still fails can be rerun: LFS objects already on the Hub are not sent again.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classit_data.core.errors import InputError, first_line
from classit_data.core.summary import Summary
from classit_data.dataset.record import BUILD_INFO, CONFIGS, read_build_info, sha256_file
from classit_data.publish.config import PushConfig

MAX_OPERATIONS_PER_COMMIT = 1000
TRANSIENT_STATUS = {408, 429, 500, 502, 503, 504}
#: remote folders the build owns: files in them that the build does not have are deleted
MANAGED_PREFIXES = tuple(f"{c}/" for c in CONFIGS) + ("figures/",)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


class PushError(InputError):
    """The Hub refused or failed the push; the message says what to do."""


@dataclass
class LocalFile:
    path: str  # in the repo
    local: Path
    size: int
    sha256: str
    git_oid: str


@dataclass
class Plan:
    add: list[LocalFile] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.add and not self.delete


def git_blob_oid(data: bytes) -> str:
    """The id git gives a file's content (what the Hub reports for files not in LFS)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def local_files(dataset_dir: str | Path) -> tuple[dict, list[LocalFile]]:
    """The build record and the files to push, after checking the folder is a publishable build."""
    folder = Path(dataset_dir)
    info = read_build_info(folder)
    validation = info.get("validation") or {}
    if not validation.get("passed"):
        why = "built with --force after validation failed" if validation.get("forced") else "validation failed"
        raise InputError(
            f"this build is not publishable ({why}: {validation.get('quarantined', '?')} rows "
            "rejected); fix the rows and build again",
            folder / BUILD_INFO,
        )
    listed = info.get("files")
    if not isinstance(listed, dict) or not listed:
        raise InputError("the build record lists no files", folder / BUILD_INFO)
    files = []
    for rel, meta in sorted(listed.items()):
        path = folder / rel
        if not path.is_file():
            raise InputError(f"{rel} is missing; build again", folder)
        size = path.stat().st_size
        # a small file is read once, for both its sha256 and its git blob id; a large one is hashed in blocks
        data = path.read_bytes() if size <= 10 * 1024 * 1024 else b""
        sha = hashlib.sha256(data).hexdigest() if data else sha256_file(path)
        if sha != meta.get("sha256"):
            if rel != "README.md":
                raise InputError(
                    f"{rel} changed after the build (sha256 differs from build_info.json); build again", folder
                )
            _check_card(path)
        files.append(LocalFile(rel, path, size, sha, git_blob_oid(data) if data else ""))
    record = folder / BUILD_INFO
    raw = record.read_bytes()
    files.append(LocalFile(BUILD_INFO, record, len(raw), hashlib.sha256(raw).hexdigest(), git_blob_oid(raw)))
    return info, files


def _check_card(path: Path) -> None:
    from huggingface_hub import DatasetCard

    try:
        card = DatasetCard.load(path)
    except Exception as exc:  # the card parser raises several types; the user needs one line
        raise InputError(f"the edited card does not parse: {exc}", path) from exc
    if not card.data.get("configs"):
        raise InputError("the edited card lost its `configs:` metadata; build again", path)


def plan_push(files: list[LocalFile], remote: dict) -> Plan:
    """What to upload and delete so that the remote revision holds exactly this build."""
    plan = Plan()
    local_paths = {f.path for f in files}
    for f in files:
        r = remote.get(f.path)
        same = r is not None and (
            (r.lfs is not None and r.lfs.sha256 == f.sha256) or (r.lfs is None and f.git_oid and r.blob_id == f.git_oid)
        )
        (plan.unchanged.append(f.path) if same else plan.add.append(f))
    plan.delete = sorted(p for p in remote if p.startswith(MANAGED_PREFIXES) and p not in local_paths)
    return plan


def _is_transient(exc: BaseException) -> bool:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, HfHubHTTPError) and exc.response is not None:
            return exc.response.status_code in TRANSIENT_STATUS
        if isinstance(exc, (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _status(exc: BaseException) -> int | None:
    from huggingface_hub.errors import HfHubHTTPError

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, HfHubHTTPError) and exc.response is not None:
            return exc.response.status_code
        exc = exc.__cause__ or exc.__context__
    return None


def _token(token: str | None) -> str:
    from huggingface_hub import get_token

    token = token or get_token()
    if not token:
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token with write access)")
    return token


def _check_token(api, endpoint: str) -> str:
    """The user the token belongs to; a clear error when the Hub rejects it or cannot be reached."""
    try:
        return api.whoami()["name"]
    except Exception as exc:
        status = _status(exc)
        if status == 401:
            raise PushError(
                f"the Hub at {endpoint} rejected the token (HTTP 401): check HF_TOKEN or run `hf auth login` again"
            ) from exc
        if status is None and _is_transient(exc):
            raise PushError(f"cannot reach the Hub at {endpoint}: {first_line(exc)}") from exc
        raise PushError(f"the Hub at {endpoint} refused the token check: {first_line(exc)}") from exc


class PushSummary(Summary):
    """What a push did: the commit made (None when the remote already held this build), the files uploaded,
    deleted and left as they were (``kept``), the tag, and how many attempts it took."""

    url: str
    revision: str
    commit: str | None
    commits: list[str]
    head: str
    unchanged: bool
    uploaded: list[str]
    deleted: list[str]
    kept: list[str]
    bytes_uploaded: int
    tag: dict[str, Any] | None
    repo_id: str
    user: str
    endpoint: str
    attempts: int
    seconds: float

    def title(self) -> str:
        return f"push -> {self.repo_id}"

    def rows(self) -> dict[str, object]:
        rows = {
            "repo": self.url,
            "revision": self.revision,
            "commit": self.commit or f"none (already at {self.head[:12]})",
            "uploaded": f"{len(self.uploaded)} file(s), {self.bytes_uploaded:,} bytes",
            "deleted": len(self.deleted),
            "unchanged": len(self.kept),
        }
        if self.tag:
            rows["tag"] = self.tag["name"] + ("" if self.tag["created"] else " (already there)")
        rows["attempts"] = self.attempts
        rows["seconds"] = self.seconds
        return rows


def push(
    dataset_dir: str | Path,
    repo_id: str,
    settings: PushConfig | None = None,
    *,
    token: str | None = None,
    progress: bool = True,
) -> PushSummary:
    """Publish a built dataset folder to the Hugging Face Hub dataset repo ``repo_id`` (created if needed).

    Inputs:
        dataset_dir: a folder made by ``build`` whose validation passed; only the files its ``build_info.json``
            lists are pushed, each checked against its sha256.
        settings: :class:`~classit_data.publish.config.PushConfig` (defaults when None).
        token: a Hub token with write access (default: ``HF_TOKEN`` or the saved login); never printed.

    Outputs:
        repo_id: the dataset repo, ``ORG/NAME``: one commit that makes its revision hold exactly this build
            (none when it already does), tagged when ``tag`` is set.

    Steps: check the folder -> check the token -> plan against the remote tree and commit (retried while
    the Hub fails transiently) -> tag.
    """
    from huggingface_hub import HfApi, constants

    from classit_data.core.console import console

    config = settings if settings is not None else PushConfig()
    started = time.perf_counter()
    if not _REPO_ID.match(repo_id or ""):
        raise InputError(f"--repo-id must look like ORG/NAME, got {repo_id!r}")
    info, files = local_files(dataset_dir)
    token = _token(token)
    endpoint = constants.ENDPOINT
    api = HfApi(endpoint=endpoint, token=token)
    say = console.print if progress else (lambda *a, **k: None)
    user = _check_token(api, endpoint)
    target = PushTarget(
        repo_id, config.revision or "main", config.private, config.commit_message or _default_message(info), config.tag
    )
    result, attempts = _with_retries(
        lambda: _push_once(api, target, files, say),
        retries=config.retries,
        backoff=config.backoff,
        say=say,
        give_up=lambda exc, n: _push_error(exc, repo_id, endpoint, n),
    )
    return PushSummary(
        **result,
        repo_id=repo_id,
        user=user,
        endpoint=endpoint,
        attempts=attempts,
        seconds=round(time.perf_counter() - started, 2),
    )


@dataclass
class PushTarget:
    """Where and how a push commits."""

    repo_id: str
    branch: str
    private: bool
    message: str
    tag: str | None


def _with_retries(attempt, *, retries: int, backoff: float, say, give_up) -> tuple[dict, int]:
    """``attempt()``'s result and the attempts it took; transient Hub failures are retried with exponential
    backoff, any other failure (or the last) raises ``give_up(error, attempts)``."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return attempt(), attempts
        except PushError:
            raise
        except Exception as exc:
            if not (_is_transient(exc) and attempts <= retries):
                raise give_up(exc, attempts) from exc
            wait = backoff * 2 ** (attempts - 1)
            say(f"the Hub failed ({first_line(exc)}); retrying in {wait:.0f} s [{attempts}/{retries}]", markup=False)
            time.sleep(wait)


def _default_message(info: dict) -> str:
    counts = info.get("counts", {})
    return (
        f"CLASS-IT build: {counts.get('rows', 0):,} rows (classit-data {info.get('package', {}).get('version', '?')})"
    )


def _push_error(exc: BaseException, repo_id: str, endpoint: str, attempts: int) -> PushError:
    status = _status(exc)
    rerun = " Rerun the same command to finish: files already uploaded are not sent again."
    if status == 401:
        return PushError(f"the Hub rejected the token for {repo_id} (HTTP 401)")
    if status == 403:
        return PushError(f"the token may not write to {repo_id} (HTTP 403): use a token with write access")
    if status is not None:
        return PushError(
            f"the Hub at {endpoint} failed the push of {repo_id} after {attempts} attempt(s) "
            f"(HTTP {status}: {first_line(exc)}).{rerun}"
        )
    return PushError(
        f"the push of {repo_id} to {endpoint} failed after {attempts} attempt(s): {first_line(exc)}.{rerun}"
    )


def _remote_tree(api, repo_id: str, branch: str) -> dict:
    from huggingface_hub.hf_api import RepoFile

    return {
        e.path: e
        for e in api.list_repo_tree(repo_id, repo_type="dataset", revision=branch, recursive=True)
        if isinstance(e, RepoFile)
    }


def _push_once(api, target: PushTarget, files: list[LocalFile], say) -> dict:
    """One attempt: make sure the repo and branch exist, commit what differs from the remote tree, tag."""
    repo_url = api.create_repo(target.repo_id, repo_type="dataset", private=target.private, exist_ok=True)
    if target.branch != "main":
        api.create_branch(target.repo_id, branch=target.branch, repo_type="dataset", exist_ok=True)
    plan = plan_push(files, _remote_tree(api, target.repo_id, target.branch))
    if target.tag:  # before any commit: a refused tag must leave the branch as it was
        _check_tag_free(api, target, plan)
    commits = []
    if plan.empty:
        say(f"{target.repo_id}@{target.branch} already holds this build: nothing to commit")
    else:
        say(
            f"pushing {len(plan.add)} file(s) ({sum(f.size for f in plan.add):,} bytes), deleting "
            f"{len(plan.delete)}, {len(plan.unchanged)} unchanged"
        )
        batches = commit_batches(plan)
        for i, batch in enumerate(batches):
            title = target.message if len(batches) == 1 else f"{target.message} ({i + 1}/{len(batches)})"
            info = api.create_commit(
                target.repo_id, batch, commit_message=title, repo_type="dataset", revision=target.branch
            )
            commits.append(info.oid)
    head = commits[-1] if commits else api.dataset_info(target.repo_id, revision=target.branch).sha
    tagged = _tag(api, target.repo_id, target.tag, head) if target.tag else None
    return {
        "url": str(repo_url),
        "revision": target.branch,
        "commit": commits[-1] if commits else None,
        "commits": commits,
        "head": head,
        "unchanged": plan.empty,
        "uploaded": [f.path for f in plan.add],
        "deleted": plan.delete,
        "kept": plan.unchanged,
        "bytes_uploaded": sum(f.size for f in plan.add),
        "tag": tagged,
    }


def commit_batches(plan: Plan) -> list[list]:
    """The plan's operations in commits of at most ``MAX_OPERATIONS_PER_COMMIT``, deletions first.

    The card and the build record go last, so the repo never describes data it does not hold yet.
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    last = {"README.md", BUILD_INFO}
    ops = [CommitOperationDelete(path_in_repo=p) for p in plan.delete]
    ops += [
        CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(f.local)) for f in plan.add if f.path not in last
    ]
    tail = [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(f.local)) for f in plan.add if f.path in last]
    batches = [ops[i : i + MAX_OPERATIONS_PER_COMMIT] for i in range(0, len(ops), MAX_OPERATIONS_PER_COMMIT)]
    if batches and len(batches[-1]) + len(tail) <= MAX_OPERATIONS_PER_COMMIT:
        batches[-1] += tail
    elif tail:
        batches.append(tail)
    return batches


def _check_tag_free(api, target: PushTarget, plan: Plan) -> None:
    """Refuse, before committing, a tag that exists on another commit than the one this push leaves on the
    branch: a push that commits makes a new commit, which the existing tag cannot name."""
    tagged = {t.name: t.target_commit for t in api.list_repo_refs(target.repo_id, repo_type="dataset").tags}
    if target.tag not in tagged:
        return
    head = api.dataset_info(target.repo_id, revision=target.branch).sha if plan.empty else None
    if tagged[target.tag] != head:
        raise PushError(
            f"tag {target.tag!r} already exists on commit {tagged[target.tag][:12]} of "
            f"{target.repo_id}, which does not hold this build; nothing was pushed: choose another --tag"
        )


def _tag(api, repo_id: str, tag: str, head: str) -> dict:
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    existing = {t.name: t.target_commit for t in refs.tags}
    if tag in existing:
        if existing[tag] != head:
            raise PushError(
                f"tag {tag!r} already exists on commit {existing[tag][:12]} of {repo_id}, not on the "
                f"pushed commit {head[:12]}; choose another --tag"
            )
        return {"name": tag, "commit": head, "created": False}
    api.create_tag(repo_id, tag=tag, revision=head, repo_type="dataset")
    return {"name": tag, "commit": head, "created": True}
