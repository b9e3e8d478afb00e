"""The preview page as an officer uses it: where the table was found, columns mapped and
re-mapped, near firm names answered, settings never imported unseen, big files as jobs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.enterprises.models import Enterprise
from crm.extensions import db
from crm.imports import jobs
from crm.imports.models import ImportBatch, ImportJob, ImportMapping
from crm.institutions.models import Researcher
from crm.needs.models import Need
from crm.seed.services import load_reference
from tests.conftest import AuthActions
from tests.fixtures import office_files as office
from tests.imports.helpers import upload, write_csv, write_xlsx
from tests.pages import form_to

PREVIEW = "http://localhost/imports/preview"


@pytest.fixture
def officer(app, client, make_user):
    load_reference()
    db.session.commit()
    user = make_user(role=Role.ADMIN)
    AuthActions(client).login(user.username)
    return user


def settings(html: str):
    return form_to(html, PREVIEW, "/imports/commit")


def select_named(form, header: str) -> str:
    """The `map-N` field of the column with this header."""
    data = form.data()
    index = next(
        k.split("-")[-1] for k, v in data.items() if k.startswith("map-header-") and v == header
    )
    return f"map-{index}"


def run_job(job_id: int) -> None:
    """What `crm import-job ID` runs in its own process, which has no transaction open: the
    test's session ends its own first (its rollbacks would otherwise reach the requests')."""
    db.session.commit()
    jobs.execute(job_id)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_preview_names_the_sheet_and_header_then_a_changed_mapping_is_used_and_remembered(
    client, officer, tmp_path
):
    data = office.above_scale_list(tmp_path / "a.xlsx").read_bytes()
    response = upload(client, data, "规上名单.xlsx")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "工作表“规上企业”第 3 行是表头" in html and "2024年（旧）（隐藏）" in html
    form = settings(html)
    industry = select_named(form, "所属行业")
    assert form.data()[industry] == "industries"

    # the officer decides 所属行业 is not to be imported: a preview first, then the commit
    changed = form.data(**{industry: ""}, action="commit")
    page = client.post("/imports/commit", data=changed).get_data(as_text=True)
    assert "设置有改动" in page and count(ImportBatch) == 0  # never imported unseen
    form = settings(page)
    assert form.data()[select_named(form, "所属行业")] == ""
    assert "按您的选择" in page
    response = client.post("/imports/commit", data=form.data(action="commit"))
    assert response.status_code == 302 and count(ImportBatch) == 1
    firm = db.session.scalar(
        sa.select(Enterprise).where(Enterprise.name == "嵊州市锦程领带服饰有限公司")
    )
    assert firm.industries == [] and firm.town.name == "甘霖镇"

    # next month's list from the same office: the same headers get the same mapping
    assert count(ImportMapping) == 1
    again = upload(client, office.above_scale_list(tmp_path / "b.xlsx").read_bytes(), "x.xlsx")
    form = settings(again.get_data(as_text=True))
    assert form.data()[select_named(form, "所属行业")] == ""
    assert "沿用上次的选择" in again.get_data(as_text=True)


def test_near_firm_names_are_asked_on_the_page(client, officer, tmp_path, make_enterprise):
    firm = make_enterprise(name="嵊州市锦程领带服饰有限公司")
    path = write_csv(tmp_path / "n.csv", [["企业名称", "需求名称"], ["锦程领带", "领带起皱"]])
    html = upload(client, path.read_bytes(), "n.csv").get_data(as_text=True)
    assert "请确认这些企业" in html and "嵊州市锦程领带服饰有限公司" in html
    form = settings(html)
    assert form.data()["ask-name-0"] == "锦程领带"
    answered = form.data(**{"ask-0": str(firm.id)}, action="preview")
    page = client.post("/imports/commit", data=answered).get_data(as_text=True)
    assert "请确认这些企业" not in page and "按您的选择" in page
    response = client.post("/imports/commit", data=settings(page).data(action="commit"))
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Need)).one().enterprise_id == firm.id


def test_another_sheet_can_be_chosen(client, officer, tmp_path):
    data = office.above_scale_list(tmp_path / "a.xlsx").read_bytes()
    form = settings(upload(client, data, "a.xlsx").get_data(as_text=True))
    page = client.post(
        "/imports/commit", data=form.data(sheet="2024年（旧）", action="preview")
    ).get_data(as_text=True)
    assert "工作表“2024年（旧）”第 1 行是表头" in page and "共 1 行" in page


def test_a_bad_year_is_shown_on_the_page_not_a_lost_preview(client, officer, tmp_path):
    data = office.above_scale_list(tmp_path / "a.xlsx").read_bytes()
    form = settings(upload(client, data, "a.xlsx").get_data(as_text=True))
    response = client.post("/imports/commit", data=form.data(year="1800", action="commit"))
    assert response.status_code == 400
    assert "年份应在 1990–2100 之间" in response.get_data(as_text=True)
    assert count(ImportBatch) == 0


def test_a_big_file_is_previewed_and_imported_as_a_job(app, client, officer, tmp_path, monkeypatch):
    launched: list[int] = []
    monkeypatch.setattr(jobs, "launch", lambda job: launched.append(job.id))
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_ROWS", 10)
    rows = [["姓名", "所在单位", "研究方向"]] + [
        [f"专家{i}", "浙江理工大学", "数码印花"] for i in range(40)
    ]
    data = write_xlsx(tmp_path / "big.xlsx", rows).read_bytes()
    response = upload(client, data, "big.xlsx")
    assert response.status_code == 302 and "/imports/jobs/" in response.headers["Location"]
    job = db.session.scalars(sa.select(ImportJob)).one()
    job_id = job.id
    assert launched == [job_id] and job.dry_run
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "data-run-url" in page and "排队" in page  # the progress bar, polling

    run_job(job_id)
    state = client.get(f"/imports/jobs/{job_id}.json").get_json()
    assert state["status"] == "done" and state["done"] == 40 and state["percent"] == 100
    page = client.get(f"/imports/jobs/{job_id}").get_data(as_text=True)
    assert "导入预览：专家" in page and count(Researcher) == 0  # a preview writes nothing

    response = client.post("/imports/commit", data=settings(page).data(action="commit"))
    commit_id = db.session.scalar(sa.select(sa.func.max(ImportJob.id)))
    assert response.headers["Location"].endswith(f"/imports/jobs/{commit_id}")
    # 确认导入 pressed again: the same job, not a second import
    again = client.post("/imports/commit", data=settings(page).data(action="commit"))
    assert again.headers["Location"] == response.headers["Location"] and count(ImportJob) == 2
    run_job(commit_id)
    done = client.get(f"/imports/jobs/{commit_id}")
    assert done.status_code == 302 and "/imports/" in done.headers["Location"]
    assert count(Researcher) == 40 and count(ImportBatch) == 1


def test_someone_elses_job_is_not_shown(app, client, officer, tmp_path, monkeypatch, make_user):
    monkeypatch.setattr(jobs, "launch", lambda job: None)
    monkeypatch.setitem(app.config, "IMPORT_BACKGROUND_ROWS", 1)
    data = write_csv(tmp_path / "r.csv", [["姓名"], ["甲"], ["乙"], ["丙"]]).read_bytes()
    location = upload(client, data, "r.csv").headers["Location"]
    other = app.test_client()
    AuthActions(other).login(make_user().username)
    assert other.get(location).status_code == 404
    assert other.get(location + ".json").status_code == 404


def test_a_kind_the_file_cannot_be_is_refused_on_the_page(client, officer, tmp_path):
    data = office.above_scale_list(tmp_path / "a.xlsx").read_bytes()
    form = settings(upload(client, data, "a.xlsx").get_data(as_text=True))
    response = client.post("/imports/commit", data=form.data(kind="needs", action="preview"))
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "缺少必填列：需求名称或需求描述" in page
    assert "导入预览：企业" in page and count(ImportBatch) == 0  # the preview as it was
