"""A small Hugging Face Hub on 127.0.0.1 for tests: real HTTP, backed by a temporary folder.

It speaks the part of the Hub API that ``huggingface_hub`` (create_repo, create_commit over the
LFS "basic" transfer, list_repo_tree, paths-info, refs, tags, branches, whoami) and ``datasets``
(``load_dataset(repo_id, config)``: repo info, README download, tree listing, resolve with ranges)
use. Request and response shapes follow the client code of huggingface_hub 2.x. Xet is not
spoken: clients must run with ``HF_HUB_DISABLE_XET=1``.

State lives in memory (repos, commits, refs) and file contents on disk under ``root``; one lock
serialises the changes. ``fail(...)`` makes chosen requests fail, to test retries and reruns.

Run it alone with ``python tests/publish/hub_server.py --port 8765 --token hf_test``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".parquet", ".arrow", ".png", ".jpg", ".safetensors", ".bin", ".gz", ".bz2", ".zip")
LFS_MIN_SIZE = 10 * 1024 * 1024  # the Hub sends big files to LFS whatever their name
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Entry:
    """One file in a commit's tree; ``sha256`` names its content in the object store."""

    size: int
    sha256: str
    oid: str  # git blob id: of the content (regular) or of the LFS pointer (lfs)
    lfs: bool

    def as_json(self, path: str) -> dict:
        out = {"type": "file", "oid": self.oid, "size": self.size, "path": path}
        if self.lfs:
            out["lfs"] = {
                "oid": self.sha256,
                "size": self.size,
                "pointerSize": len(lfs_pointer(self.sha256, self.size)),
            }
        return out


@dataclass
class Commit:
    oid: str
    parent: str | None
    title: str
    description: str
    date: str
    files: dict[str, Entry]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    owner: str
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=_now)

    def resolve(self, rev: str) -> Commit | None:
        rev = unquote(rev)
        oid = self.branches.get(rev) or self.tags.get(rev)
        if oid is None and rev in self.commits:
            oid = rev
        return self.commits.get(oid) if oid else None

    def history(self, rev: str) -> list[Commit]:
        out, commit = [], self.resolve(rev)
        while commit is not None:
            out.append(commit)
            commit = self.commits.get(commit.parent) if commit.parent else None
        return out


@dataclass
class FailRule:
    """Answer ``status`` to the requests of one kind (after letting ``after`` of them through), ``times`` times."""

    route: str
    status: int = 500
    times: int = 1
    after: int = 0
    retry_after: float | None = 0
    seen: int = 0


class HubState:
    def __init__(self, root: Path, tokens: dict[str, str]):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tokens = dict(tokens)  # token -> user name
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lock = threading.RLock()
        self.rules: list[FailRule] = []
        self.requests: list[tuple[str, str, int]] = []  # (method, route, status)

    # --- objects --------------------------------------------------------------------------------
    def put_object(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        path = self.objects / sha
        if not path.exists():
            tmp = path.with_suffix(f".tmp{threading.get_ident()}")
            tmp.write_bytes(data)
            tmp.replace(path)
        return sha

    def has_object(self, sha: str, size: int | None = None) -> bool:
        p = self.objects / sha
        return p.exists() and (size is None or p.stat().st_size == size)

    # --- repos ----------------------------------------------------------------------------------
    def create_repo(self, repo_type: str, repo_id: str, private: bool, owner: str) -> Repo:
        repo = Repo(repo_type, repo_id, private, owner)
        sha = self.put_object(GITATTRIBUTES)
        first = Commit(
            self._commit_oid(None, "initial commit"),
            None,
            "initial commit",
            "",
            _now(),
            {".gitattributes": Entry(len(GITATTRIBUTES), sha, git_blob_oid(GITATTRIBUTES), False)},
        )
        repo.commits[first.oid] = first
        repo.branches["main"] = first.oid
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def _commit_oid(self, parent: str | None, title: str) -> str:
        return hashlib.sha1(f"{parent}\0{title}\0{time.time_ns()}\0{len(self.requests)}".encode()).hexdigest()

    def commit(
        self,
        repo: Repo,
        branch: str,
        title: str,
        description: str,
        files: dict[str, Entry | None],
        parent: str | None = None,
    ) -> Commit:
        head = repo.resolve(branch)
        if parent is not None and head is not None and head.oid != parent:
            raise ValueError("parent commit is not the head of the branch")
        tree = dict(head.files) if head else {}
        for path, entry in files.items():
            if entry is None:
                prefix = path.rstrip("/") + "/"
                for p in [p for p in tree if p == path or p.startswith(prefix)]:
                    del tree[p]
            else:
                tree[path] = entry
        commit = Commit(
            self._commit_oid(head.oid if head else None, title),
            head.oid if head else None,
            title,
            description,
            _now(),
            tree,
        )
        repo.commits[commit.oid] = commit
        repo.branches[branch] = commit.oid
        return commit

    def commit_count(self, repo_id: str, repo_type: str = "dataset", rev: str = "main") -> int:
        with self.lock:
            return len(self.repos[(repo_type, repo_id)].history(rev))

    def request_count(self, route: str, method: str | None = None) -> int:
        with self.lock:
            return sum(1 for m, r, _ in self.requests if r == route and (method is None or m == method))


class HubHandler(BaseHTTPRequestHandler):
    server: HubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep test output quiet; the server records requests itself
        if self.server.verbose:
            super().log_message(fmt, *args)

    # --- plumbing -------------------------------------------------------------------------------
    @property
    def state(self) -> HubState:
        return self.server.state

    def _body(self) -> bytes:
        """The request body, read once (a second call returns the same bytes)."""
        if getattr(self, "_cached_body", None) is None:
            self._cached_body = self._read_body()
        return self._cached_body

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(
        self,
        status: int,
        body: bytes | dict | list | None = None,
        headers: dict | None = None,
        content_type: str = "application/json",
        head_only: bool = False,
    ) -> None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        body = body or b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        if not head_only and self.command != "HEAD":
            self.wfile.write(body)
        self.state.requests.append((self.command, self._route, status))

    def _error(self, status: int, message: str, code: str | None = None, head_only: bool = False) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers, head_only=head_only)

    def _user(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        return self.state.tokens.get(auth[7:].strip())

    def _has_bad_token(self) -> bool:
        auth = self.headers.get("Authorization", "")
        return auth.lower().startswith("bearer ") and self._user() is None

    def _maybe_fail(self) -> bool:
        with self.state.lock:
            for rule in self.state.rules:
                if rule.route != self._route or rule.times <= 0:
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                rule.times -= 1
                if self.command in ("PUT", "POST"):
                    self._body()  # drain the upload so the client sees the answer, not a broken pipe
                message = f"injected failure ({rule.route})"
                headers = {"X-Error-Message": message}
                if rule.retry_after is not None:
                    headers["Retry-After"] = rule.retry_after
                self._send(rule.status, {"error": message}, headers)
                return True
        return False

    def _repo(self, repo_type: str, repo_id: str, *, write: bool = False, head_only: bool = False) -> Repo | None:
        if self._has_bad_token():
            self._error(401, "Invalid credentials in Authorization header", head_only=head_only)
            return None
        repo = self.state.repos.get((repo_type, repo_id))
        user = self._user()
        if repo is None or (repo.private and user is None):
            self._error(404 if user else 401, "Repository not found", "RepoNotFound", head_only=head_only)
            return None
        if write and user is None:
            self._error(401, "Invalid credentials in Authorization header", head_only=head_only)
            return None
        return repo

    # --- routing --------------------------------------------------------------------------------
    _API = re.compile(r"^/api/(models|datasets|spaces)/([^/]+/[^/]+)(?:/(.*))?$")
    _LFS_BATCH = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch$")
    _RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self._cached_body = None  # one handler serves every request of a keep-alive connection
        self.query = parse_qs(url.query)
        path = url.path
        self._route = "other"
        try:
            if path == "/api/whoami-v2":
                self._route = "whoami"
                return self._whoami()
            if path == "/api/repos/create":
                self._route = "create"
                return self._create()
            if path == "/api/validate-yaml":
                self._route = "validate-yaml"
                self._body()
                return self._send(200, {"errors": [], "warnings": []})
            if path.startswith("/__lfs/"):
                self._route = "lfs-put"
                return self._lfs_put(path[len("/__lfs/") :])
            if m := self._LFS_BATCH.match(path):
                self._route = "lfs-batch"
                return self._lfs_batch(_type(m.group(1)), m.group(2))
            if m := self._RESOLVE.match(path):
                self._route = "resolve"
                return self._resolve(_type(m.group(1)), m.group(2), unquote(m.group(3)), unquote(m.group(4)))
            if m := self._API.match(path):
                repo_type, repo_id, rest = m.group(1)[:-1], m.group(2), m.group(3) or ""
                return self._api(repo_type, repo_id, rest)
            self._route = "unknown"
            self._error(404, f"no route for {self.command} {path}")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    # --- endpoints ------------------------------------------------------------------------------
    def _whoami(self) -> None:
        user = self._user()
        if user is None:
            return self._error(401, "Invalid credentials in Authorization header")
        self._send(
            200,
            {
                "type": "user",
                "id": user,
                "name": user,
                "fullname": user,
                "orgs": [],
                "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "write"}},
            },
        )

    def _create(self) -> None:
        payload = json.loads(self._body() or b"{}")
        if self._maybe_fail():
            return
        user = self._user()
        if user is None:
            return self._error(401, "Invalid credentials in Authorization header")
        repo_type = payload.get("type") or "model"
        repo_id = f"{payload.get('organization') or user}/{payload['name']}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"{self.server.endpoint}/{prefix}{repo_id}"
        with self.state.lock:
            if (repo_type, repo_id) in self.state.repos:
                return self._send(
                    409,
                    {"error": "You already created this repo", "url": url},
                    {"X-Error-Message": "You already created this repo"},
                )
            private = bool(payload.get("private")) or payload.get("visibility") == "private"
            self.state.create_repo(repo_type, repo_id, private, user)
        self._send(200, {"url": url, "name": repo_id, "id": repo_id})

    def _api(self, repo_type: str, repo_id: str, rest: str) -> None:
        if rest == "" or rest.startswith("revision/"):
            self._route = "info"
            return self._info(repo_type, repo_id, rest[len("revision/") :] if rest else "main")
        kind, _, arg = rest.partition("/")
        self._route = kind
        handler = {
            "preupload": self._preupload,
            "commit": self._commit,
            "tree": self._tree,
            "paths-info": self._paths_info,
            "refs": self._refs,
            "tag": self._tag,
            "branch": self._branch,
            "commits": self._commits,
        }.get(kind)
        if handler is None:
            return self._error(404, f"no route for {self.command} {rest}")
        handler(repo_type, repo_id, arg)

    def _info(self, repo_type: str, repo_id: str, rev: str) -> None:
        if self._maybe_fail():
            return
        with self.state.lock:
            repo = self._repo(repo_type, repo_id)
            if repo is None:
                return
            commit = repo.resolve(rev)
            if commit is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            info = {
                "_id": repo_id,
                "id": repo_id,
                "author": repo_id.split("/")[0],
                "sha": commit.oid,
                "private": repo.private,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "createdAt": repo.created,
                "lastModified": commit.date,
                "siblings": [{"rfilename": p} for p in sorted(commit.files)],
            }
        self._send(200, info)

    def _preupload(self, repo_type: str, repo_id: str, rev: str) -> None:
        payload = json.loads(self._body() or b"{}")
        if self._maybe_fail():
            return
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, write=True)
            if repo is None:
                return
            head = repo.resolve(rev)
            if head is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            files = []
            for f in payload.get("files", []):
                sample = base64.b64decode(f.get("sample", ""))
                lfs = f["path"].endswith(LFS_SUFFIXES) or f.get("size", 0) >= LFS_MIN_SIZE or b"\0" in sample
                current = head.files.get(f["path"])
                oid = None
                if current is not None:
                    oid = current.sha256 if current.lfs else current.oid
                files.append(
                    {"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid}
                )
        self._send(200, {"files": files, "commitOid": head.oid})

    def _lfs_batch(self, repo_type: str, repo_id: str) -> None:
        payload = json.loads(self._body() or b"{}")
        if self._maybe_fail():
            return
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, write=payload.get("operation") == "upload")
            if repo is None:
                return
            objects = []
            for obj in payload.get("objects", []):
                item = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
                if payload.get("operation") == "upload" and not self.state.has_object(obj["oid"], obj["size"]):
                    item["actions"] = {"upload": {"href": f"{self.server.endpoint}/__lfs/{obj['oid']}", "header": {}}}
                objects.append(item)
        self._send(
            200,
            {"transfer": "basic", "objects": objects, "hash_algo": "sha256"},
            content_type="application/vnd.git-lfs+json",
        )

    def _lfs_put(self, oid: str) -> None:
        if self._maybe_fail():
            return
        data = self._body()
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, "content does not match its oid")
        self.state.put_object(data)
        self._send(200, b"", content_type="text/plain")

    def _commit(self, repo_type: str, repo_id: str, rev: str) -> None:
        body = self._body()
        if self._maybe_fail():
            return
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next((x["value"] for x in lines if x["key"] == "header"), {})
        changes: dict[str, Entry | None] = {}
        for item in lines:
            key, value = item["key"], item["value"]
            if key == "file":
                data = (
                    base64.b64decode(value["content"])
                    if value.get("encoding") == "base64"
                    else value["content"].encode()
                )
                sha = self.state.put_object(data)
                changes[value["path"]] = Entry(len(data), sha, git_blob_oid(data), False)
            elif key == "lfsFile":
                oid = value["oid"]
                if not self.state.has_object(oid):
                    return self._error(422, f"LFS object {oid} was never uploaded ({value['path']})")
                size = (self.state.objects / oid).stat().st_size
                changes[value["path"]] = Entry(size, oid, git_blob_oid(lfs_pointer(oid, size)), True)
            elif key in ("deletedFile", "deletedFolder"):
                changes[value["path"]] = None
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, write=True)
            if repo is None:
                return
            if repo.resolve(rev) is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            head = repo.resolve(rev)
            for path, entry in changes.items():
                if (
                    entry is None
                    and path not in head.files
                    and not any(p.startswith(path.rstrip("/") + "/") for p in head.files)
                ):
                    return self._error(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            try:
                commit = self.state.commit(
                    repo,
                    unquote(rev),
                    header.get("summary", ""),
                    header.get("description", ""),
                    changes,
                    header.get("parentCommit"),
                )
            except ValueError as exc:
                return self._error(412, str(exc))
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        self._send(
            200,
            {
                "success": True,
                "commitOid": commit.oid,
                "commitUrl": f"{self.server.endpoint}/{prefix}{repo_id}/commit/{commit.oid}",
                "hookOutput": "",
            },
        )

    def _listing(self, commit: Commit, folder: str, recursive: bool) -> list[dict]:
        folder = folder.strip("/")
        prefix = folder + "/" if folder else ""
        files, dirs = [], set()
        for path in sorted(commit.files):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            parts = rest.split("/")
            for i in range(1, len(parts) if recursive else min(len(parts), 2)):
                dirs.add(prefix + "/".join(parts[:i]))
            if recursive or len(parts) == 1:
                files.append(commit.files[path].as_json(path))
        folders = [
            {"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d}
            for d in sorted(dirs)
        ]
        return folders + files

    def _tree(self, repo_type: str, repo_id: str, arg: str) -> None:
        if self._maybe_fail():
            return
        rev, _, folder = arg.partition("/")
        folder = unquote(folder)
        recursive = self.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        with self.state.lock:
            repo = self._repo(repo_type, repo_id)
            if repo is None:
                return
            commit = repo.resolve(rev)
            if commit is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            if folder and not any(p.startswith(folder.strip("/") + "/") for p in commit.files):
                return self._error(404, f"Entry not found: {folder}", "EntryNotFound")
            listing = self._listing(commit, folder, recursive)
        self._send(200, listing)

    def _paths_info(self, repo_type: str, repo_id: str, rev: str) -> None:
        raw = self._body().decode()
        ctype = self.headers.get("Content-Type", "")
        paths = json.loads(raw).get("paths", []) if "json" in ctype else parse_qs(raw).get("paths", [])
        if self._maybe_fail():
            return
        with self.state.lock:
            repo = self._repo(repo_type, repo_id)
            if repo is None:
                return
            commit = repo.resolve(rev)
            if commit is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            out = []
            for p in paths:
                p = p.strip("/")
                if p in commit.files:
                    out.append(commit.files[p].as_json(p))
                elif any(f.startswith(p + "/") for f in commit.files):
                    out.append({"type": "directory", "oid": hashlib.sha1(p.encode()).hexdigest(), "size": 0, "path": p})
        self._send(200, out)

    def _refs(self, repo_type: str, repo_id: str, _arg: str) -> None:
        with self.state.lock:
            repo = self._repo(repo_type, repo_id)
            if repo is None:
                return
            refs = {
                "branches": [
                    {"name": n, "ref": f"refs/heads/{n}", "targetCommit": o} for n, o in repo.branches.items()
                ],
                "tags": [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o} for n, o in repo.tags.items()],
                "converts": [],
                "pullRequests": [],
            }
        self._send(200, refs)

    def _tag(self, repo_type: str, repo_id: str, rev: str) -> None:
        payload = json.loads(self._body() or b"{}")
        if self._maybe_fail():
            return
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, write=True)
            if repo is None:
                return
            commit = repo.resolve(rev)
            if commit is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            if payload["tag"] in repo.tags:
                return self._error(409, f"Tag {payload['tag']} already exists")
            repo.tags[payload["tag"]] = commit.oid
        self._send(200, {})

    def _branch(self, repo_type: str, repo_id: str, branch: str) -> None:
        payload = json.loads(self._body() or b"{}")
        branch = unquote(branch)
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, write=True)
            if repo is None:
                return
            if branch in repo.branches:
                return self._error(409, f"Branch {branch} already exists")
            start = repo.resolve(payload.get("startingPoint") or "main")
            if start is None:
                return self._error(404, "Invalid starting point", "RevisionNotFound")
            repo.branches[branch] = start.oid
        self._send(200, {})

    def _commits(self, repo_type: str, repo_id: str, rev: str) -> None:
        with self.state.lock:
            repo = self._repo(repo_type, repo_id)
            if repo is None:
                return
            if repo.resolve(rev) is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            out = [
                {
                    "id": c.oid,
                    "title": c.title,
                    "message": c.description,
                    "date": c.date,
                    "authors": [{"user": repo.owner}],
                }
                for c in repo.history(rev)
            ]
        self._send(200, out)

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str) -> None:
        head_only = self.command == "HEAD"
        if self._maybe_fail():
            return
        with self.state.lock:
            repo = self._repo(repo_type, repo_id, head_only=head_only)
            if repo is None:
                return
            commit = repo.resolve(rev)
            if commit is None:
                return self._error(404, f"Invalid rev id: {rev}", "RevisionNotFound", head_only=head_only)
            entry = commit.files.get(path)
            if entry is None:
                return self._error(404, f"Entry not found: {path}", "EntryNotFound", head_only=head_only)
        etag = f'"{entry.sha256 if entry.lfs else entry.oid}"'
        headers = {"X-Repo-Commit": commit.oid, "ETag": etag, "Accept-Ranges": "bytes"}
        if entry.lfs:
            headers.update({"X-Linked-Etag": etag, "X-Linked-Size": entry.size})
        data = (self.state.objects / entry.sha256).read_bytes()
        status = 200
        rng = self.headers.get("Range")
        if rng and (m := re.match(r"bytes=(\d*)-(\d*)$", rng.strip())):
            start, end = m.group(1), m.group(2)
            if start == "":
                first, last = max(0, len(data) - int(end)), len(data) - 1
            else:
                first, last = int(start), min(int(end) if end else len(data) - 1, len(data) - 1)
            if first >= len(data) and len(data) > 0:
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head_only=head_only)
            headers["Content-Range"] = f"bytes {first}-{last}/{len(data)}"
            data, status = data[first : last + 1], 206
        self._send(status, data, headers, content_type="application/octet-stream", head_only=head_only)


def _type(prefix: str | None) -> str:
    return {"datasets": "dataset", "spaces": "space"}.get(prefix or "", "model")


class HubServer(ThreadingHTTPServer):
    """``with HubServer(tmp_path, tokens={"hf_x": "alice"}) as hub: ... hub.endpoint ...``"""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, root: str | Path | None = None, tokens: dict[str, str] | None = None, port: int = 0, verbose: bool = False
    ):
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="hub-"))
        self.state = HubState(self.root, tokens or {})
        self.verbose = verbose
        super().__init__(("127.0.0.1", port), HubHandler)
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    def fail(
        self, route: str, *, status: int = 500, times: int = 1, after: int = 0, retry_after: float | None = 0
    ) -> FailRule:
        """Make the next ``times`` requests of ``route`` (after ``after`` good ones) answer ``status``.

        Routes: whoami, create, info, preupload, lfs-batch, lfs-put, commit, tree, paths-info, tag,
        resolve. ``retry_after`` is sent as a Retry-After header (the client then waits that long + 1 s).
        """
        rule = FailRule(route, status, times, after, retry_after)
        with self.state.lock:
            self.state.rules.append(rule)
        return rule

    def clear_failures(self) -> None:
        with self.state.lock:
            self.state.rules.clear()

    def start(self) -> HubServer:
        self._thread = threading.Thread(target=self.serve_forever, name="hub-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--root", default=None, help="folder for the objects (default: a temporary one)")
    ap.add_argument("--token", action="append", default=[], help="a token the server accepts (repeatable)")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    server = HubServer(args.root, {t: "user" for t in args.token}, port=args.port, verbose=args.verbose)
    print(f"serving the Hub API on {server.endpoint} (objects in {server.root})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
