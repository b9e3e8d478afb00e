"""The `crm` command: users and demo data through the same services as the web."""

from __future__ import annotations

import subprocess
import sys

import sqlalchemy as sa

from crm.auth.models import Role, User
from crm.auth.services import get_user
from crm.clock import local_today
from crm.cooperation.models import Cooperation, Stage
from crm.cultivation.models import Candidate, PoolStage
from crm.enterprises.models import Contact, Enterprise
from crm.extensions import db
from crm.institutions.models import Branch, Institution, Researcher
from crm.projects.models import Level as ProjectLevel
from crm.projects.models import Project, ProjectStage
from crm.targets.metrics import BY_CODE
from crm.targets.models import Target
from crm.targets.rules import RULES
from tests.conftest import AuthActions


def test_console_script_lists_the_command_groups():
    result = subprocess.run(
        [sys.executable, "-m", "crm.manage", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for group in ("db", "user", "seed", "run"):
        assert f"  {group} " in result.stdout


def test_user_create_with_password_stdin_then_login(runner, client):
    result = runner.invoke(
        args=[
            "user",
            "create",
            "QianLP",
            "--role",
            "officer",
            "--department",
            "高新技术科",
            "--display-name",
            "钱丽萍",
            "--password-stdin",
        ],
        input="a-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    user = get_user("qianlp")
    assert user.role == Role.OFFICER
    assert user.department.name == "高新技术科"
    assert AuthActions(client).login("qianlp", "a-long-enough-password").status_code == 302
    assert "钱丽萍" in client.get("/").get_data(as_text=True)


def test_user_create_prompts_twice(runner):
    result = runner.invoke(
        args=["user", "create", "louja", "--role", "viewer"],
        input="a-long-enough-password\na-long-enough-password\n",
    )
    assert result.exit_code == 0, result.output
    assert "再次输入密码" in result.output
    assert "a-long-enough-password" not in result.output  # hidden input
    assert get_user("louja").role == Role.VIEWER


def test_user_create_refuses_short_password_and_duplicates(runner, make_user):
    result = runner.invoke(
        args=["user", "create", "shorty", "--role", "officer", "--password-stdin"], input="123\n"
    )
    assert result.exit_code != 0
    assert "至少需要 10 个字符" in result.output
    assert get_user("shorty") is None
    existing = make_user()
    result = runner.invoke(
        args=["user", "create", existing.username, "--role", "officer", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    assert result.exit_code != 0
    assert "已存在" in result.output


def test_user_list_and_deactivate(runner, make_user, app):
    user = make_user(role=Role.OFFICER)
    make_user(role=Role.ADMIN)
    listed = runner.invoke(args=["user", "list"])
    assert user.username in listed.output
    result = runner.invoke(args=["user", "deactivate", user.username])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.active is False
    missing = runner.invoke(args=["user", "deactivate", "nobody"])
    assert missing.exit_code != 0
    assert "不存在" in missing.output


def test_last_admin_cannot_be_deactivated(runner, app):
    admins = db.session.scalars(sa.select(User).where(User.role == Role.ADMIN)).all()
    assert admins == []
    runner.invoke(
        args=["user", "create", "boss", "--role", "admin", "--password-stdin"],
        input="a-long-enough-password\n",
    )
    result = runner.invoke(args=["user", "deactivate", "boss"])
    assert result.exit_code != 0
    assert "最后一个" in result.output
    assert get_user("boss").active is True


def _counts() -> dict[str, int]:
    return {
        m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
        for m in (Enterprise, Researcher, Institution, Cooperation, Target, User, Contact)
    }


def test_seed_demo_is_complete_and_idempotent(runner):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    counts = _counts()
    assert counts["Enterprise"] >= 60
    assert counts["Researcher"] >= 150
    stages = set(db.session.scalars(sa.select(Cooperation.stage).distinct()))
    assert stages == set(Stage)  # every stage, 终止 included
    polyu = db.session.scalar(sa.select(Institution).where(Institution.name == "香港理工大学"))
    assert {"港理工", "PolyU", "香港理工大學"} <= {a.alias for a in polyu.aliases}
    targets = db.session.scalars(sa.select(Target)).all()
    assert {t.metric for t in targets} <= set(BY_CODE)
    assert {t.metric: int(t.value) for t in targets}["new_hitech_national"] == 3
    phones = db.session.scalars(sa.select(Contact.phone).where(Contact.phone.is_not(None)))
    assert all(p.startswith("1380000") for p in phones)  # fictional numbers only
    projects = db.session.execute(sa.select(Project.stage, Project.level)).all()
    assert {stage for stage, _ in projects} == set(ProjectStage)  # every stage and level
    assert {level for _, level in projects} == set(ProjectLevel)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Branch)) == 2
    founded = db.session.scalars(sa.select(Enterprise).where(Enterprise.founded_on.is_not(None)))
    assert [len(f.founding_achievements) for f in founded] == [1]
    pool = set(db.session.scalars(sa.select(Candidate.stage).distinct()))
    assert {PoolStage.POOLED, PoolStage.APPLIED, PoolStage.GRANTED, PoolStage.FAILED} <= pool
    year = local_today().year
    report = {code: RULES[code].actual(year, None) for code in RULES}  # type: ignore[misc]
    assert all(actual > 0 for actual in report.values()), report  # every target of the plan

    second = runner.invoke(args=["seed", "demo"])
    assert second.exit_code == 0
    assert "无新增" in second.output
    assert _counts() == counts

    skipped = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert "跳过" in skipped.output


def test_seed_admin_prints_the_password_once(runner, client):
    first = runner.invoke(args=["seed", "admin"])
    assert first.exit_code == 0
    password = first.output.split("密码 ")[1].split()[0]
    second = runner.invoke(args=["seed", "admin"])
    assert password not in second.output
    assert "已存在" in second.output
    assert AuthActions(client).login("admin", password).status_code == 302


def test_user_password_resets_and_ends_sessions(runner, app, make_user):
    user = make_user()
    browser = app.test_client()
    AuthActions(browser).login(user.username)
    assert browser.get("/").status_code == 200
    short = runner.invoke(args=["user", "password", user.username, "--password-stdin"], input="x\n")
    assert short.exit_code != 0 and "至少需要" in short.output
    result = runner.invoke(
        args=["user", "password", user.username, "--password-stdin"],
        input="another-long-password\n",
    )
    assert result.exit_code == 0, result.output
    assert browser.get("/").status_code == 302
    assert (
        AuthActions(app.test_client()).login(user.username, "another-long-password").status_code
        == 302
    )
