"""Login, logout, own password, and the admin's user list."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from crm.auth import services
from crm.auth.forms import ActiveForm, LoginForm, PasswordForm, UserEditForm, UserForm
from crm.auth.models import Department, Role, User
from crm.errors import ValidationError
from crm.extensions import db, login_manager
from crm.forms import attach_error, choices
from crm.policy import Level, access
from crm.urls import is_safe_next
from crm.web import save_form

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@access(Level.PUBLIC, self_service=True)
def login() -> Response | str:
    """Sign in with username and password (throttled per account and per address)."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        ip = request.remote_addr or "unknown"
        try:
            user = services.authenticate(form.username.data, form.password.data, ip)
        except services.LoginThrottled as exc:
            flash(exc.message, "danger")
            return render_template("auth/login.html", form=form), 429
        if user is None:
            db.session.commit()  # keep the failed attempt: throttling counts it
            flash("用户名或密码错误。", "danger")
            return render_template("auth/login.html", form=form), 200
        token = services.start_session(user, ip, request.user_agent.string)
        session.clear()
        login_user(user)
        session["sid"] = token
        session.permanent = True  # idle timeout = PERMANENT_SESSION_LIFETIME
        db.session.commit()
        target = request.args.get("next")
        return redirect(target if is_safe_next(target) else url_for("main.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@access(Level.SIGNED_IN, self_service=True)
def logout() -> Response:
    """End this browser's session for good: the old cookie opens nothing afterwards."""
    services.end_session(session.get("sid"))
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@access(Level.SIGNED_IN, self_service=True)
def password() -> Response | str:
    """Change one's own password; every other session of the account ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except ValidationError as exc:
            db.session.rollback()
            attach_error(form, exc, default="new_password")
            return render_template("auth/password.html", form=form), 400
        session["sid"] = services.start_session(
            current_user, request.remote_addr, request.user_agent.string
        )
        db.session.commit()
        flash("密码已修改，其他设备上的登录已失效。", "success")
        return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


@bp.route("/admin/users", methods=["GET", "POST"])
@access(Level.ADMIN)
def users() -> Response | tuple[str, int]:
    """List accounts and create new ones (admins only)."""
    form = UserForm()
    form.department.choices = _department_choices()

    def create() -> User:
        data = services.UserData(
            username=form.username.data,
            display_name=form.display_name.data,
            role=form.role.data,
            password=form.password.data,
            department=form.department.data or None,
        )
        return services.create_user(data)

    return save_form(
        form,
        create,
        template="auth/users.html",
        done=lambda _user: url_for("auth.users"),
        success=lambda user: f"已创建用户 {user.display_name}（{user.username}）。",
        default_field="username",
        users=services.list_users(),
        toggle=ActiveForm(),
    )


def _department_choices() -> list:
    departments = db.session.scalars(sa.select(Department).order_by(Department.name)).all()
    return choices([("", "（无）")] + [(d.name, d.name) for d in departments])


@bp.route("/admin/users/<username>", methods=["GET", "POST"])
@access(Level.ADMIN)
def edit_user(username: str) -> Response | tuple[str, int]:
    """Change a user's name, role, department or password (optimistic locking)."""
    user = services.require_user(username)
    form = UserEditForm(obj=user if request.method == "GET" else None)
    form.department.choices = _department_choices()
    if request.method == "GET":
        form.role.data = user.role.value
        form.department.data = user.department.name if user.department else ""

    def changes() -> services.UserChanges:
        return services.UserChanges(
            display_name=form.display_name.data,
            role=Role(form.role.data),
            department=form.department.data or None,
            new_password=form.new_password.data or None,
        )

    return save_form(
        form,
        lambda: services.update_user(user, changes(), int(form.version.data or 0)),
        template="auth/user_edit.html",
        done=lambda _user: url_for("auth.users"),
        success=lambda saved: f"已保存 {saved.display_name} 的账号信息。",
        default_field="display_name",
        record=user,
        conflict=changes,
        user=user,
    )


@bp.route("/admin/users/<username>/active", methods=["POST"])
@access(Level.ADMIN)
def set_active(username: str) -> Response:
    """Switch an account off (its sessions end at once) or back on."""
    form = ActiveForm()
    if form.validate_on_submit():
        try:
            if form.active.data:
                user = services.activate_user(username)
                message = f"已启用 {user.display_name}。"
            else:
                user = services.deactivate_user(username, by=current_user)
                message = f"已停用 {user.display_name}，其登录已全部失效。"
        except ValidationError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(message, "success")
    return redirect(url_for("auth.users"))


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of this request, if its server-side session is still open."""
    return services.user_for_session(user_id, session.get("sid"))
