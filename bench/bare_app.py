"""The baseline of the HTTP benchmark: a bare Flask app with one small JSON route.

bench/http_bench.py serves it with the same gunicorn configuration as the real app, so the gap
between the two is what the petition code costs, not what gunicorn, HTTP or the machine cost.

    gunicorn bench.bare_app:app
"""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/count")
def count():
    # The shape and size of GET /api/petitions/<slug>/count.
    return jsonify(signature_count=123456, goal=200000, updated_at="2026-01-01T00:00:00Z")
