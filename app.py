"""Entry point: `flask --app app …` and `gunicorn app:app` find the portal here."""
from tradeportal import create_app

app = create_app()
