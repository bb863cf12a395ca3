from flask import render_template

from ..access import signed_in
from . import bp


@bp.get("/dashboard")
@signed_in
def index():
    return render_template("dashboard/index.html")
