# Copyright: the project's contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PACS's REST API: one interface, two engines (Dicoogle and Orthanc).

Standard library only (urllib, ssl, json), so that it runs on any host a module lands on.

- `RestTransport`: one HTTP(S) endpoint. TLS verified against a CA file (or the system's store), HTTP basic
  authentication (nginx in front of the PACS, or Orthanc's own users), a timeout per request and a bounded
  number of retries with growing pauses. A request that may have reached the server is retried only when it
  is safe to send twice.
- `DicoogleClient`: login, index a URI and wait for the index task, search. Every request it can make is
  listed in `DicoogleClient.CALLS`; the client refuses to send anything else, and the unit tests check that
  list against Dicoogle's OpenAPI description.
- `OrthancClient`: Orthanc has no folder indexer in Debian's packages, so "indexing the landed folder" means
  posting each landed file to `POST /instances` (Orthanc indexes it before it answers) and reading
  `GET /changes` to count what was new; `POST /tools/find` searches.

Both engines answer `index(source)` with the same summary and `find_studies(uids)` with (found, missing), so
a role can use either one without knowing which.
"""

from __future__ import annotations

import base64
import concurrent.futures
import http.client
import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

try:
    from ansible.module_utils.pacs_poll import poll
except ImportError:  # imported as the package module_utils (unit tests)
    from module_utils.pacs_poll import poll

ENGINES = ("dicoogle", "orthanc")
# Statuses that mean "try again later": the server did not do the work.
RETRY_STATUSES = (429, 502, 503, 504)


class PacsRestError(Exception):
    """A request that failed for good, with what is known of it."""

    def __init__(self, msg, status=None, body=None, method=None, url=None):
        super().__init__(msg)
        self.status = status
        self.body = body
        self.method = method
        self.url = url


class Response:
    """Status, headers and body of one answer."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise PacsRestError(f"answer is not JSON: {err}: {self.body[:200]!r}", status=self.status) from err


def _redact(url):
    """The URL with the values of password-like query parameters hidden."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    shown = [(k, "********" if "pass" in k.lower() or "token" in k.lower() else v) for k, v in pairs]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(shown)))


class RestTransport:
    """One REST endpoint: base URL, TLS, basic auth, timeout and bounded retries.

    `opener(request, timeout)` sends a `urllib.request.Request` and returns a response object with
    `status`, `headers` and `read()` (urllib's own by default); tests replace it to record requests.
    """

    def __init__(
        self,
        base_url,
        *,
        ca_file=None,
        validate_certs=True,
        username=None,
        password=None,
        timeout=30.0,
        retries=3,
        backoff=0.5,
        sleep=time.sleep,
        opener=None,
    ):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base URL {base_url!r} must be http(s)://host[:port][/path]")
        if retries < 0 or timeout <= 0:
            raise ValueError("retries must be 0 or more and timeout above 0")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.headers = {"Accept": "application/json"}
        if username is not None:
            token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {token}"
        self.basic_auth = username is not None
        if opener is None:
            context = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
            if context is not None and not validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            handlers = [urllib.request.HTTPSHandler(context=context)] if context else []
            # No proxies from the environment: the PACS is reached directly (loopback or a private network).
            handlers.append(urllib.request.ProxyHandler({}))
            built = urllib.request.build_opener(*handlers)
            opener = built.open  # noqa: S310 - the scheme is checked above
        self.opener = opener

    def url(self, path, query=None):
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        return url

    def request(self, method, path, query=None, body=None, content_type=None, headers=None, safe_to_repeat=None):
        """Send one request; return a Response with a 2xx status, or raise PacsRestError.

        `query` is a list of (name, value) pairs or a dict (list values repeat the name). Retried up to
        `retries` times when the server could not be reached, or answered 429/502/503/504; a request that
        may have reached the server (a timeout, a reset connection) is retried only when `safe_to_repeat`
        (default: GET, HEAD, PUT, DELETE).
        """
        if safe_to_repeat is None:
            safe_to_repeat = method in ("GET", "HEAD", "PUT", "DELETE")
        url = self.url(path, query)
        all_headers = dict(self.headers)
        if content_type:
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        attempt = 0
        while True:
            attempt += 1
            request = urllib.request.Request(url, data=body, method=method, headers=all_headers)  # noqa: S310
            retry_reason = None
            try:
                with self.opener(request, timeout=self.timeout) as answer:
                    status = getattr(answer, "status", None) or answer.getcode()
                    return Response(status, dict(answer.headers.items()), answer.read())
            except urllib.error.HTTPError as err:
                payload = err.read() if err.fp else b""
                if err.code in RETRY_STATUSES:
                    retry_reason = f"HTTP {err.code}"
                else:
                    raise PacsRestError(
                        f"{method} {_redact(url)}: HTTP {err.code} {err.reason}: {payload[:300]!r}",
                        status=err.code,
                        body=payload,
                        method=method,
                        url=_redact(url),
                    ) from err
            except urllib.error.URLError as err:
                reason = err.reason
                if isinstance(reason, (ssl.SSLError, ssl.CertificateError)):
                    raise PacsRestError(f"{method} {_redact(url)}: TLS: {reason}", method=method) from err
                never_sent = isinstance(reason, (ConnectionRefusedError, socket.gaierror))
                if not (never_sent or safe_to_repeat):
                    raise PacsRestError(f"{method} {_redact(url)}: {reason}", method=method) from err
                retry_reason = str(reason)
            except (TimeoutError, ConnectionResetError, http.client.HTTPException) as err:
                if not safe_to_repeat:
                    raise PacsRestError(f"{method} {_redact(url)}: {type(err).__name__}: {err}", method=method) from err
                retry_reason = f"{type(err).__name__}: {err}"
            if attempt > self.retries:
                raise PacsRestError(
                    f"{method} {_redact(url)}: {retry_reason} (gave up after {attempt} attempts)", method=method
                )
            self.sleep(self.backoff * (2 ** (attempt - 1)))

    def json(self, method, path, query=None, payload=None, **kwargs):
        body = None if payload is None else json.dumps(payload).encode("utf-8")
        content_type = None if payload is None else "application/json"
        return self.request(method, path, query=query, body=body, content_type=content_type, **kwargs).json()


def summary(engine, **counts):
    """The engine-independent answer of index()."""
    base = {
        "engine": engine,
        "submitted": 0,
        "indexed": 0,
        "already_indexed": 0,
        "errors": 0,
        "rejected": [],
        "tasks": [],
        "finished": True,
    }
    base.update(counts)
    return base


# --- Dicoogle ------------------------------------------------------------------------------------------------


class DicoogleClient:
    """Dicoogle 3.x: login, index a URI, follow index tasks, search.

    Dicoogle 3.4.2 and 3.5.1 do not check the token on these services (UPSTREAM_FACTS.md section 3): the login
    in front of nginx is the gate (the ALB's Cognito on AWS, its stand-in in the lab). The token is still
    asked for and sent when a login is given, so the client keeps working once a release enforces it; it
    travels in the Authorization header, which the transport's basic credentials (accepted by the lab's
    stand-in) use too, so with basic credentials the token is not sent.
    """

    engine = "dicoogle"
    # Every request the client can make: (method, path, query parameter names it may send).
    CALLS = (
        ("POST", "/login", ("username", "password")),
        ("POST", "/management/tasks/index", ("uri", "plugin")),
        ("GET", "/index/task", ()),
        ("POST", "/index/task", ("type", "uid")),
        ("GET", "/search", ("query", "provider", "field")),
        ("GET", "/searchDIM", ("query", "provider", "field")),
    )

    def __init__(self, transport, *, login=None, password=None, provider="lucene", sleep=time.sleep):
        self.transport = transport
        self.login_name = login
        self.login_password = password
        self.provider = provider
        self.sleep = sleep
        self.token = None

    def _call(self, method, path, query=(), safe_to_repeat=None):
        allowed = {(m, p): names for m, p, names in self.CALLS}
        if (method, path) not in allowed:
            raise PacsRestError(f"the Dicoogle client does not make {method} {path}")
        unknown = {name for name, _ in query} - set(allowed[(method, path)])
        if unknown:
            raise PacsRestError(f"{method} {path} takes no parameter {', '.join(sorted(unknown))}")
        headers = {}
        if self.token and not self.transport.basic_auth:
            headers["Authorization"] = self.token
        return self.transport.request(
            method, path, query=list(query), headers=headers, safe_to_repeat=safe_to_repeat
        ).json()

    def login(self):
        """POST /login; keeps and returns the session token."""
        if self.login_name is None:
            return None
        answer = self._call(
            "POST", "/login", [("username", self.login_name), ("password", self.login_password or "")], True
        )
        if not isinstance(answer, dict) or not answer.get("token"):
            raise PacsRestError("Dicoogle's login answered without a token")
        self.token = answer["token"]
        return answer

    def start_index(self, uris, plugin=None):
        """POST /management/tasks/index for one or more URIs; the tasks Dicoogle started."""
        uris = [uris] if isinstance(uris, str) else list(uris)
        query = [("uri", uri) for uri in uris]
        if plugin:
            query.append(("plugin", plugin))
        answer = self._call("POST", "/management/tasks/index", query, safe_to_repeat=False) or {}
        tasks = answer.get("tasks") if isinstance(answer, dict) else answer
        if not isinstance(tasks, list):
            raise PacsRestError(f"Dicoogle's index answer has no task list: {answer!r}")
        return tasks

    def index_tasks(self):
        """GET /index/task: every task Dicoogle knows of (running and finished, until closed).

        Dicoogle names a task's id "taskUid" here (and "uid" in the answer that started it; its
        OpenAPI description says "uid" for both): each task gets a "uid" too, so both match.
        """
        answer = self._call("GET", "/index/task") or {}
        tasks = answer.get("results", []) if isinstance(answer, dict) else answer
        return [
            dict(task, uid=task.get("uid") or task.get("taskUid")) if isinstance(task, dict) else task for task in tasks
        ]

    def close_task(self, uid):
        """POST /index/task?type=close: forget a finished task."""
        self._call("POST", "/index/task", [("type", "close"), ("uid", uid)], safe_to_repeat=True)

    def wait_for_tasks(self, uids, timeout, poll_interval=1.0):
        """Poll GET /index/task until every task in `uids` is complete; (their results, finished)."""
        wanted = set(uids)

        def probe():
            return [task for task in self.index_tasks() if task.get("uid") in wanted]

        def done(tasks):
            return {t["uid"] for t in tasks if t.get("complete")} >= wanted

        return poll(probe, done, timeout, first_delay=poll_interval, sleep=self.sleep)

    def index(self, source, *, wait=True, timeout=3600, poll_interval=1.0, close=True):
        """Index the URI `source` (e.g. file:/srv/pacs/images/froms3/) and wait for its tasks."""
        if self.token is None:
            self.login()
        tasks = self.start_index(source, plugin=self.provider)
        uids = [task["uid"] for task in tasks if task.get("uid")]
        result = summary(self.engine, submitted=len(uids), tasks=tasks, finished=not wait)
        if not wait:
            return result
        finals, finished = self.wait_for_tasks(uids, timeout, poll_interval)
        result.update(
            tasks=finals,
            finished=finished,
            indexed=sum(int(task.get("nIndexed") or 0) for task in finals),
            errors=sum(int(task.get("nErrors") or 0) for task in finals),
        )
        if finished and close:
            for uid in uids:
                self.close_task(uid)
        return result

    def search(self, query, provider=None, field=None, dim=False):
        """GET /search (or /searchDIM): Dicoogle's answer {results, numResults, elapsedTime}."""
        params = [("query", query), ("provider", provider or self.provider)]
        if field:
            params.append(("field", field))
        return self._call("GET", "/searchDIM" if dim else "/search", params) or {}

    def find_studies(self, study_uids):
        """(found, missing) among `study_uids`, each searched with the index provider."""
        found, missing = [], []
        for uid in study_uids:
            answer = self.search(f'StudyInstanceUID:"{uid}"')
            results = answer.get("results") or []
            hit = any((r.get("fields") or {}).get("StudyInstanceUID", uid) == uid for r in results)
            (found if hit else missing).append(uid)
        return found, missing


# --- Orthanc -------------------------------------------------------------------------------------------------


class OrthancClient:
    """Orthanc's REST API: import files (`POST /instances`), follow `/changes`, search (`/tools/find`)."""

    engine = "orthanc"

    def __init__(self, transport, *, workers=4, sleep=time.sleep):
        self.transport = transport
        self.workers = workers
        self.sleep = sleep

    def system(self):
        return self.transport.json("GET", "/system")

    def statistics(self):
        return self.transport.json("GET", "/statistics")

    def last_change(self):
        """Sequence number of the newest change Orthanc logged (0 when none)."""
        answer = self.transport.json("GET", "/changes", query=[("last", "")]) or {}
        return int(answer.get("Last") or 0)

    def changes_since(self, since, limit=1000):
        """Every change after sequence `since`: ([changes], last sequence)."""
        changes, last = [], since
        while True:
            answer = self.transport.json("GET", "/changes", query=[("since", last), ("limit", limit)]) or {}
            changes.extend(answer.get("Changes") or [])
            last = int(answer.get("Last") or last)
            if answer.get("Done", True) or not answer.get("Changes"):
                return changes, last

    def store(self, data):
        """POST /instances with one DICOM file's bytes: Orthanc's answer (Status Success or AlreadyStored)."""
        # Storing the same file twice is harmless (AlreadyStored), so a lost answer may be retried.
        return self.transport.request(
            "POST", "/instances", body=data, content_type="application/dicom", safe_to_repeat=True
        ).json()

    def _store_file(self, path):
        try:
            with open(path, "rb") as handle:
                answer = self.store(handle.read())
        except PacsRestError as err:
            reason = err.body.decode("utf-8", "replace")[:300] if err.body else str(err)
            return {"path": path, "status": "Failed", "reason": reason}
        except OSError as err:
            return {"path": path, "status": "Failed", "reason": f"{type(err).__name__}: {err}"}
        if isinstance(answer, list):  # a ZIP: one entry per instance
            answer = answer[0] if answer else {}
        return {"path": path, "status": answer.get("Status", "Unknown"), "id": answer.get("ID")}

    def import_files(self, paths, progress=None):
        """Post every file, `workers` at a time; one {path, status, id | reason} per file, in path order."""
        lock = threading.Lock()
        done = 0

        def one(path):
            nonlocal done
            entry = self._store_file(path)
            if progress:
                with lock:
                    done += 1
                    progress(done, len(paths))
            return entry

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return list(pool.map(one, paths))

    def index(self, source, *, wait=True, timeout=3600, poll_interval=1.0, files=None):
        """Import the files under the local folder `source` (or the given `files`) and count what was new.

        Orthanc indexes a file before it answers its POST, so the wait is only the check that its change log
        shows one NewInstance per new file; `timeout` bounds that check.
        """
        if files is None:
            files = sorted(os.path.join(folder, name) for folder, _dirs, names in os.walk(source) for name in names)
        before = self.last_change()
        entries = self.import_files(files)
        stored = [e for e in entries if e["status"] == "Success"]
        already = [e for e in entries if e["status"] == "AlreadyStored"]
        rejected = [
            {"path": e["path"], "reason": e.get("reason", e["status"])}
            for e in entries
            if e["status"] not in ("Success", "AlreadyStored")
        ]
        result = summary(
            self.engine,
            submitted=len(files),
            indexed=len(stored),
            already_indexed=len(already),
            errors=len(rejected),
            rejected=rejected,
        )
        if not wait:
            return result
        expected = {e["id"] for e in stored}

        def probe():
            changes, _ = self.changes_since(before)
            return {c.get("ID") for c in changes if c.get("ChangeType") == "NewInstance"}

        seen, finished = poll(probe, lambda ids: expected <= ids, timeout, first_delay=poll_interval, sleep=self.sleep)
        result.update(finished=finished, new_instances=len(seen))
        return result

    def find(self, level, query, limit=None, expand=False):
        """POST /tools/find: Orthanc IDs (or, with expand, the resources) matching a DICOM query."""
        payload = {"Level": level, "Query": query}
        if limit:
            payload["Limit"] = limit
        if expand:
            payload["Expand"] = True
        # A search changes nothing, so it may be repeated.
        return self.transport.json("POST", "/tools/find", payload=payload, safe_to_repeat=True) or []

    def find_studies(self, study_uids):
        found, missing = [], []
        for uid in study_uids:
            (found if self.find("Study", {"StudyInstanceUID": uid}) else missing).append(uid)
        return found, missing


def make_client(engine, base_url, *, login=None, login_password=None, workers=4, sleep=time.sleep, **transport):
    """The client of `engine` at `base_url`; `transport` goes to RestTransport (TLS, auth, timeout, retries)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    rest = RestTransport(base_url, sleep=sleep, **transport)
    if engine == "dicoogle":
        return DicoogleClient(rest, login=login, password=login_password, sleep=sleep)
    return OrthancClient(rest, workers=workers, sleep=sleep)


# --- What a module that talks to the PACS's web API shares (library/pacs_index.py, library/pacs_peers_engine.py)


def module_options(request_timeout):
    """The argument_spec entries of such a module: the engine, where its web API is, TLS, and how long a
    request may take and how often it is retried. Each module adds its own login options."""
    return {
        "engine": {"type": "str", "required": True, "choices": list(ENGINES)},
        "url": {"type": "str", "required": True},
        "ca_path": {"type": "path"},
        "validate_certs": {"type": "bool", "default": True},
        "request_timeout": {"type": "float", "default": request_timeout},
        "retries": {"type": "int", "default": 3},
    }


def module_client(module, *, username, password, **client):
    """The engine's client from the module's options (module_options), with HTTP basic authentication as
    username and password; `client` goes to make_client (Dicoogle's login, workers). A bad option fails
    the module."""
    params = module.params
    try:
        return make_client(
            params["engine"],
            params["url"],
            ca_file=params["ca_path"],
            validate_certs=params["validate_certs"],
            username=username,
            password=password,
            timeout=params["request_timeout"],
            retries=params["retries"],
            **client,
        )
    except ValueError as err:
        module.fail_json(msg=str(err))


def module_fail(module, err, hint=""):
    """Fail the module with what went wrong at the engine: which engine, where, the error and its HTTP status
    (err: a PacsRestError, or any error with a `status`)."""
    params = module.params
    module.fail_json(msg=f"{params['engine']} at {params['url']}: {err}{hint}", status=getattr(err, "status", None))
