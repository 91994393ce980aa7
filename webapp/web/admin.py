"""Admin login and logout, and the admin home: progress and the target's name."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from webapp.context import get_db, get_settings
from webapp.operations import admins
from webapp.store.settings import set_target_name
from webapp.store.users import count_users
from webapp.store.videos import list_videos
from webapp.web import auth
from webapp.web.helpers import progress_json, target_name

bp = Blueprint("admin", __name__, url_prefix="/admin")
auth.require_login(bp, except_endpoints=("admin.login",))


class LoginForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    submit = SubmitField("Log out")


class TargetNameForm(FlaskForm):
    target_name = StringField(
        "The target's name", validators=[DataRequired(), Length(min=1, max=100)]
    )
    submit = SubmitField("Save")


@bp.app_context_processor
def admin_context() -> dict:
    """The logged-in admin and a logout form for every page's header."""
    admin = auth.current_admin()
    # formdata=None: the header's form never reads the request body (an error page for a
    # body over the size limit must not parse it again).
    return {"admin": admin, "logout_form": LogoutForm(formdata=None) if admin else None}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in; too many failed logins for a name from one address, or from one address
    for any names, are refused for a while (:mod:`webapp.operations.admins`).

    :raise 429: (as a page) the name is locked for this address, or the address is.
    """
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            admin = admins.authenticate(
                get_db(),
                form.name.data.strip(),
                form.password.data,
                address=request.remote_addr or "unknown",
                secret=current_app.config["SECRET_KEY"],
                limits=admins.LoginLimits.from_settings(get_settings()),
            )
        except admins.LoginRefused as refused:
            form.password.errors.append(str(refused))
            status = 429 if refused.locked else 401
        else:
            auth.log_in(admin)
            return redirect(auth.safe_next(request.args.get("next")) or url_for("admin.index"))
    elif request.method == "POST":
        status = 400
    no_admins = count_users(get_db()) == 0
    return render_template("login.html", form=form, no_admins=no_admins), status


@bp.post("/logout")
def logout():
    """Log out (a POST with the CSRF token, so no other site can log an admin out)."""
    auth.log_out()
    flash("You are logged out.")
    return redirect(url_for("admin.login"))


@bp.route("/", methods=["GET", "POST"])
def index():
    """The admin home: labelling progress, the videos, and the target's name to edit."""
    db = get_db()
    form = TargetNameForm()
    if form.validate_on_submit():
        set_target_name(db, form.target_name.data.strip())
        flash("The target's name is saved.")
        return redirect(url_for("admin.index"))
    status = 400 if request.method == "POST" else 200
    if request.method == "GET":
        form.target_name.data = target_name()
    return (
        render_template(
            "admin/index.html",
            form=form,
            progress=progress_json(db),
            videos=list_videos(db),
            target_name=target_name(),
        ),
        status,
    )
