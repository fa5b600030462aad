"""GET /api/days/<slug>: a day of action and its approved events, for partner sites."""

from flask import current_app, jsonify

from petition.endorsements import operations as endorsements
from petition.events import operations as events
from petition.events.views.public import bp


@bp.get("/api/days/<slug>")
def api_day(slug):
    day = events.day_by_slug(slug)
    if day is None:
        response = jsonify(error={"code": "not_found", "message": "No such day of action."})
        response.status_code = 404
        return response
    config = current_app.config
    shown = events.approved_events(day)
    counts = events.attending_counts([e.id for e in shown])
    event_count, city_count, country_count = events.headline(shown)
    rows = []
    for e in shown:
        going = counts.get(e.id, 0)
        row = {
            "id": e.id,
            "title": e.title,
            "mode": e.mode,
            "city": e.city,
            "country": e.country,
            "starts_at": events.local(e.starts_at, e.timezone).isoformat(),
            "timezone": e.timezone,
            "details_to_come": e.details_to_come,
            "url": events.event_url(config, e),
            "rsvp_count": going,
            "capacity": e.capacity,
            "full": e.capacity is not None and going >= e.capacity,
            # Online events have no place on the map.
            "lat": e.lat if e.mode == "in_person" else None,
            "lon": e.lon if e.mode == "in_person" else None,
        }
        # A private address never leaves the server before RSVP.
        if e.mode == "in_person" and e.public_address:
            row["address"] = e.public_address
        rows.append(row)
    response = jsonify(
        slug=day.slug,
        title=day.title,
        state=day.state,
        url=events.day_url(config, day),
        event_count=event_count,
        city_count=city_count,
        country_count=country_count,
        rsvp_count=sum(counts.values()),
        events=rows,
        endorsers=endorsements.public_rows(day, config),
    )
    return response
