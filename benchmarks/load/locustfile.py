"""What a liaison officer does all day, for locust (driven by benchmarks/load/run.py).

Each simulated officer signs in as one of the load accounts and works on its department's
enterprises and needs: lists and records, the search box, a visit logged (form, then post),
生成匹配 on a need, quick match, the pipeline, the tasks, now and then the dashboard. Pages are
named by route, not by URL, so each is one row of the report. A page answering 200 without its
content, or a form post not answered by its redirect, counts as a failure.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import date
from pathlib import Path

from locust import HttpUser, between, constant, task
from locust.exception import StopUser

PLAN = json.loads(Path(os.environ["CRM_LOAD_PLAN"]).read_text(encoding="utf-8"))
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_accounts = itertools.count()


class Officer(HttpUser):
    # reading the page, typing; the one-officer baseline clicks on without pause
    wait_time = between(1, 3) if os.environ.get("CRM_LOAD_PAUSE", "1") == "1" else constant(0.1)

    def on_start(self) -> None:
        self.me = PLAN["officers"][next(_accounts) % len(PLAN["officers"])]
        token = self._token("/login", "/login")
        with self.client.post(
            "/login",
            data={
                "username": self.me["username"],
                "password": self.me["password"],
                "csrf_token": token,
            },
            allow_redirects=False,
            name="POST /login",
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"sign-in answered {response.status_code}")
                raise StopUser()

    # helpers ------------------------------------------------------------------------------

    def _page(self, url: str, name: str, expect: str | None = None) -> str:
        with self.client.get(url, name=name, catch_response=True) as response:
            if response.status_code == 200 and expect and expect not in response.text:
                response.failure(f"{name}: 200 without {expect!r}")
            return response.text if response.status_code == 200 else ""

    def _token(self, url: str, name: str) -> str:
        match = TOKEN.search(self._page(url, name))
        return match.group(1) if match else ""

    def _post(self, url: str, name: str, data: dict[str, str]) -> None:
        with self.client.post(
            url, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302:
                response.failure(f"{name}: {response.status_code} instead of a redirect")

    def _enterprise(self) -> int:
        return random.choice(self.me["enterprises"])

    def _need(self) -> int:
        return random.choice(self.me["needs"])

    # browsing -----------------------------------------------------------------------------

    @task(6)
    def enterprise_list(self) -> None:
        page = random.randint(1, 40)
        self._page(f"/enterprises/?page={page}", "/enterprises/ (list)", "企业")

    @task(2)
    def enterprise_list_filtered(self) -> None:
        q = random.choice(["测试企业0", "测试企业1", "有限公司", "测试企业09"])
        self._page(f"/enterprises/?q={q}", "/enterprises/?q= (list, filtered)", "企业")

    @task(8)
    def enterprise_detail(self) -> None:
        self._page(f"/enterprises/{self._enterprise()}", "/enterprises/<id>", "走访")

    @task(3)
    def need_list(self) -> None:
        self._page(f"/needs/?page={random.randint(1, 20)}", "/needs/ (list)", "需求")

    @task(6)
    def need_detail(self) -> None:
        self._page(f"/needs/{self._need()}", "/needs/<id>", "推荐")

    @task(2)
    def researcher_list(self) -> None:
        self._page(f"/researchers/?page={random.randint(1, 50)}", "/researchers/ (list)", "专家")

    @task(3)
    def researcher_detail(self) -> None:
        rid = random.choice(PLAN["researchers"])
        self._page(f"/researchers/{rid}", "/researchers/<id>", "研究方向")

    @task(8)
    def search(self) -> None:
        self._page(f"/search?q={random.choice(PLAN['searches'])}", "/search", "搜索")

    @task(2)
    def pipeline(self) -> None:
        self._page("/pipeline", "/pipeline (list)", "意向")

    @task(2)
    def todo_list(self) -> None:
        self._page("/tasks", "/tasks (list)", "待办")

    @task(1)
    def dashboard(self) -> None:
        self._page("/dashboard", "/dashboard", "完成")

    # writing ------------------------------------------------------------------------------

    @task(4)
    def log_visit(self) -> None:
        form = f"/enterprises/{self._enterprise()}/visits/new"
        token = self._token(form, "/enterprises/<id>/visits/new (form)")
        self._post(
            form,
            "POST /enterprises/<id>/visits/new",
            {
                "csrf_token": token,
                "visited_on": date.today().isoformat(),
                "notes": random.choice(["了解技术需求", "回访合作进展", "送达政策材料"]),
            },
        )

    @task(3)
    def generate_match(self) -> None:
        need = self._need()
        token = self._token(f"/needs/{need}", "/needs/<id>")
        self._post(
            f"/needs/{need}/match", "POST /needs/<id>/match (生成匹配)", {"csrf_token": token}
        )

    @task(3)
    def quick_match(self) -> None:
        self._page(f"/match?q={random.choice(PLAN['quick'])}", "/match?q= (quick match)", "匹配")

    # the peer: a static file through the same server under the same load ---------------------

    @task(2)
    def static_file(self) -> None:
        self._page("/static/css/app.css", "peer: /static/css/app.css")
