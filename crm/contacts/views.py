"""Adding a contact person to an enterprise or an institution (the record's page lists them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from crm import policy
from crm.contacts.forms import ContactForm
from crm.enterprises import services
from crm.institutions.models import Institution
from crm.policy import Level, access
from crm.queries import get_live
from crm.web import save_form

bp = Blueprint("contacts", __name__)


@bp.route("/enterprises/<int:enterprise_id>/contacts/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def add_to_enterprise(enterprise_id: int) -> Response | tuple[str, int]:
    """Add a person at the enterprise (name, position, phone, e-mail)."""
    ent = services.get_enterprise(enterprise_id)
    policy.authorize(
        policy.can_edit_enterprise(current_user, ent), "您只能为本人或本科室负责的企业添加联系人。"
    )
    return _page(
        ent,
        lambda data: services.add_contact(current_user, data, ent=ent),
        url_for("enterprises.detail", enterprise_id=ent.id),
    )


@bp.route("/institutions/<int:record_id>/contacts/new", methods=["GET", "POST"])
@access(Level.OFFICER)
def add_to_institution(record_id: int) -> Response | tuple[str, int]:
    """Add a person at an institution (科技处, 技术转移中心 …)."""
    inst = get_live(Institution, record_id)
    return _page(
        inst,
        lambda data: services.add_contact(current_user, data, inst=inst),
        url_for("institutions.institution", record_id=inst.id),
    )


def _page(org: Any, add: Callable[[Any], Any], back: str) -> Response | tuple[str, int]:
    form = ContactForm()

    def save() -> Any:
        data = services.ContactData(
            form.name.data or "", form.position.data, form.phone.data, form.email.data
        )
        return add(data)

    return save_form(
        form,
        save,
        template="contacts/form.html",
        done=lambda _contact: back,
        success="已添加联系人。",
        default_field="name",
        org=org.name,
        back=back,
    )
