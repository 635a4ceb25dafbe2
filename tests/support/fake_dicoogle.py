"""A fake Dicoogle answering the REST calls of an ingest, as its OpenAPI description and source say it does."""

from __future__ import annotations

from tests.support.fake_http import Answer

# Dicoogle's default login (UPSTREAM_FACTS.md section 3), and a wrong one.
DEFAULT_PASSWORD = "dicoogle"  # noqa: S105
WRONG_PASSWORD = "wrong"  # noqa: S105


class FakeDicoogle:
    """Answers the calls of an ingest: login, index (task running, then complete), close, search."""

    def __init__(self, polls_until_done=2, n_indexed=3, n_errors=0, known_studies=("1.2.3",), foreign_done_after=None):
        """`foreign_done_after`: after that many task polls another client's task is complete (None: never)."""
        self.polls_until_done = polls_until_done
        self.foreign_done_after = foreign_done_after
        self.n_indexed = n_indexed
        self.n_errors = n_errors
        self.known_studies = set(known_studies)
        self.polls = 0
        self.closed = []
        # Index tasks started: task-1, task-2, ... Only the first adds files (a pass over what the index
        # holds adds nothing, as Dicoogle's does).
        self.started = 0

    def __call__(self, seen):
        query = dict(seen.query)
        key = (seen.method, seen.path)
        if key == ("POST", "/login"):
            if query.get("password") != DEFAULT_PASSWORD:
                return Answer(401, {})
            return Answer(200, {"user": "dicoogle", "admin": True, "roles": [], "token": "tok-123"})
        if key == ("POST", "/management/tasks/index"):
            self.started += 1
            uid = f"task-{self.started}"
            return Answer(200, {"tasks": [{"uid": uid, "name": f"[lucene]index {query['uri']}", "done": False}]})
        if key == ("GET", "/index/task"):
            self.polls += 1
            complete = self.polls >= self.polls_until_done
            # The running Dicoogle names the id "taskUid" here (tests/integration/test_dicoogle.py).
            added = self.n_indexed if self.started <= 1 else 0
            result = {
                "taskUid": f"task-{max(self.started, 1)}",
                "taskName": "[lucene]index",
                "complete": complete,
                "taskProgress": 1.0 if complete else 0.5,
                "nIndexed": added if complete else min(added, 1),
                "nErrors": self.n_errors if complete else 0,
            }
            foreign_done = self.foreign_done_after is not None and self.polls > self.foreign_done_after
            other = {"taskUid": "someone-elses", "complete": foreign_done, "nIndexed": 99}
            return Answer(200, {"results": [result, other], "count": 2})
        if key == ("POST", "/index/task"):
            self.closed.append(query["uid"])
            return Answer(200, {})
        if key in (("GET", "/search"), ("GET", "/searchDIM")):
            uid = query["query"].split(":", 1)[1].strip('"')
            hits = [{"uri": "file:/x.dcm", "fields": {"StudyInstanceUID": uid}}] if uid in self.known_studies else []
            return Answer(200, {"results": hits, "numResults": len(hits), "elapsedTime": 1})
        return Answer(404, {})
