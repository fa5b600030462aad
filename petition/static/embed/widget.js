/* Petition widget. <script src="https://OUR-SITE/embed/widget.js" async></script> fills each
 * <div data-petition="SLUG"> with a live count card in an open shadow root. Options on the div:
 * data-theme="dark"; data-source="TAG" for the sign link (default: the page's hostname);
 * data-poll-seconds="N" (default 10, at least 1; 6x while the tab is hidden).
 * It also fills each <div data-day="SLUG"> with a day of action: "N events in M cities and K
 * countries" and the next events, each at its local time in its own zone, linked. Options:
 * data-theme="dark"; data-limit="N" events (default 5, 1 to 20); data-poll-seconds (default 60).
 * Data reaches the DOM only as text and attributes. One request per petition on load, then
 * one count request per petition and interval, never two at once.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src) return;
  const origin = new URL(script.src).origin;
  const framed = window.top !== window.self;
  const petitions = new Map();
  // The reader's page: this one, or in a frame the page around us (the referrer).
  let here = location.hostname;
  try {
    if (framed) here = new URL(document.referrer).hostname;
  } catch (e) {
    here = "";
  }
  let fmt = String;
  try {
    fmt = new Intl.NumberFormat(navigator.language).format;
  } catch (e) {}

  // all:initial on the card, as page rules on the div itself beat :host rules.
  const CSS = `:host{display:block}
.c{all:initial;display:block;box-sizing:border-box;max-width:26em;padding:1em 1.15em 1.1em;
--bg:#fff;--fg:#1d1d1f;--mu:#5c5c66;--ac:#b0005e;--on:#fff;--tr:#f0e4ea;--bd:#e4dde1;
border:1px solid var(--bd);border-radius:.8em;background:var(--bg);color:var(--fg);
font:15px/1.4 system-ui,"Segoe UI",sans-serif;box-shadow:0 1px 3px #0001}
:host([data-theme=dark]) .c{--bg:#1e1c22;--fg:#f4f1f5;--mu:#b9b2bf;--ac:#ff6fae;--on:#1e1c22;
--tr:#3a3640;--bd:#3a3640}
p{margin:0}[hidden]{display:none!important}
.t{font-weight:700;font-size:1.05em;line-height:1.3;margin-bottom:.6em}
.n{font-size:2.1em;font-weight:800;letter-spacing:-.02em;line-height:1.1;
font-variant-numeric:tabular-nums}
.u,.g,.m{color:var(--mu)}.g{font-size:.9em}
.b{height:.6em;margin:.55em 0 .45em;border-radius:1em;background:var(--tr);overflow:hidden}
.f{height:100%;width:0;border-radius:inherit;background:var(--ac);transition:width .6s}
a{display:inline-block;margin-top:.85em;padding:.55em 1.2em;border-radius:.45em;
background:var(--ac);color:var(--on);font-weight:700;text-decoration:none}
a:hover{filter:brightness(1.1)}a:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
.s{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.h{margin-bottom:.5em}.h strong{font-variant-numeric:tabular-nums}
ul{list-style:none;margin:.4em 0 0;padding:0}li{padding:.45em 0;border-top:1px solid var(--bd)}
li a,.e{all:unset;display:block;color:var(--ac);font-weight:700;cursor:pointer}
li a:hover{text-decoration:underline}li a:focus-visible{outline:3px solid var(--fg)}
.w{display:block;color:var(--mu);font-size:.9em}
@media (prefers-reduced-motion:reduce){.f{transition:none}}`;
  // Constructed sheets pass a CSP without 'unsafe-inline'; <style> is the fallback.
  let sheet;
  try {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  } catch (e) {
    sheet = null;
  }

  const add = (parent, tag, cls) => {
    const node = parent.appendChild(document.createElement(tag));
    if (cls) node.className = cls;
    return node;
  };
  const signatures = (n) => (n === 1 ? " signature" : " signatures");

  function build(host) {
    const root = host.attachShadow({ mode: "open" });
    if (sheet && "adoptedStyleSheets" in root) root.adoptedStyleSheets = [sheet];
    else add(root, "style").textContent = CSS;
    const card = add(root, "div", "c");
    const w = { host, msg: add(card, "p", "m"), body: add(card, "div") };
    w.msg.textContent = "Loading petition\u2026";
    w.body.hidden = true;
    w.title = add(w.body, "p", "t");
    const line = add(w.body, "p");
    w.num = add(line, "strong", "n");
    w.unit = add(line, "span", "u");
    w.bar = add(w.body, "div", "b");
    w.bar.setAttribute("role", "progressbar");
    w.bar.setAttribute("aria-valuemin", 0);
    w.fill = add(w.bar, "div", "f");
    w.goal = add(w.body, "p", "g");
    w.link = add(w.body, "a");
    w.link.textContent = "Sign the petition";
    if (framed) {
      // The petition page refuses framing.
      w.link.target = "_blank";
      w.link.rel = "noopener";
    }
    w.live = add(card, "span", "s");
    w.live.setAttribute("aria-live", "polite");
    return w;
  }

  function show(p, w) {
    const { info, count: n, goal } = p;
    const was = w.num.getAttribute("data-signature-count");
    w.title.textContent = info.title;
    try {
      const url = new URL(info.url);
      const source = w.host.getAttribute("data-source") || here;
      if (source) url.searchParams.set("source", source);
      if (/^https?:$/.test(url.protocol)) w.link.href = url.href;
    } catch (e) {}
    w.num.textContent = fmt(n);
    w.num.setAttribute("data-signature-count", n);
    w.unit.textContent = signatures(n);
    w.bar.setAttribute("aria-valuemax", goal);
    w.bar.setAttribute("aria-valuenow", n);
    w.bar.setAttribute("aria-label", `Progress toward ${fmt(goal)}${signatures(goal)}`);
    w.fill.style.width = `${goal > 0 ? Math.min(100, (100 * n) / goal) : 100}%`;
    const next = (info.milestones || []).find((m) => m.count === goal);
    w.goal.textContent =
      next && goal > n
        ? `${fmt(goal - n)} more to reach \u201c${next.label}\u201d`
        : `Next goal: ${fmt(goal)}${signatures(goal)}`;
    if (was !== null && was !== String(n)) w.live.textContent = fmt(n) + signatures(n);
    w.msg.hidden = true;
    w.body.hidden = false;
  }

  function note(p, text) {
    for (const w of p.widgets) {
      w.msg.textContent = text;
      w.msg.hidden = false;
      w.body.hidden = true;
    }
  }

  async function get(path) {
    // A stuck request must not stall the polls.
    const signal = AbortSignal.timeout ? AbortSignal.timeout(15000) : null;
    const r = await fetch(origin + path, { credentials: "omit", signal });
    if (r.status === 404) return { missing: true };
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.json();
  }

  function schedule(p) {
    clearTimeout(p.timer);
    if (p.done) return;
    const seconds = (document.hidden ? 6 : 1) * p.every * Math.min(32, 2 ** p.fails);
    p.timer = setTimeout(() => refresh(p), seconds * 1000);
  }

  async function refresh(p) {
    if (p.busy || p.done) return;
    p.busy = true;
    p.last = Date.now();
    const path = `/api/petitions/${encodeURIComponent(p.slug)}`;
    try {
      const data = await get(p.info ? `${path}/count` : path);
      if (data.missing) {
        p.done = true;
        note(p, "This petition is not available.");
      } else {
        p.info = p.info || data;
        p.fails = 0;
        // App servers cache apart: an older snapshot must not take the count back.
        const at = Date.parse(data.updated_at) || 0;
        if (!(at < p.at)) {
          p.at = at;
          p.count = data.signature_count;
          p.goal = data.goal;
          for (const w of p.widgets) show(p, w);
        }
      }
    } catch (e) {
      p.fails += 1; // keep what is shown, try again later
      if (!p.info) note(p, "The count cannot be shown right now.");
    }
    p.busy = false;
    schedule(p);
  }

  function scan() {
    const found = [];
    for (const host of document.querySelectorAll("div[data-petition]")) {
      const slug = (host.getAttribute("data-petition") || "").trim();
      if (!slug || host.shadowRoot) continue;
      let w;
      try {
        w = build(host);
      } catch (e) {
        continue; // the page gave it a closed shadow root of its own
      }
      let p = petitions.get(slug);
      if (!p) {
        p = { slug, widgets: [], every: 10, fails: 0, last: 0, at: 0 };
        petitions.set(slug, p);
        found.push(p);
      }
      p.widgets.push(w);
      // The shortest interval asked for by the petition's divs.
      const every = parseFloat(host.getAttribute("data-poll-seconds"));
      if (every > 0) {
        p.every = Math.max(1, p.asked ? Math.min(p.every, every) : every);
        p.asked = true;
      }
      if (p.info) show(p, w);
    }
    found.forEach(refresh);
  }

  // --- days of action ----------------------------------------------------------------------
  const days = new Map();
  const when = (e) => {
    try {
      // The event's own clock and zone: 18:00 in Dublin reads 18:00 wherever the reader is.
      return new Intl.DateTimeFormat(navigator.language, {
        // dateStyle and timeStyle refuse timeZoneName: the parts are spelled out instead.
        weekday: "short",
        month: "short",
        day: "numeric",
        hour: "numeric",
        minute: "2-digit",
        timeZone: e.timezone,
        timeZoneName: "short",
      }).format(new Date(e.starts_at));
    } catch (err) {
      return e.starts_at;
    }
  };
  let region = (code) => code;
  try {
    const names = new Intl.DisplayNames([navigator.language], { type: "region" });
    region = (code) => names.of(code) || code;
  } catch (e) {}
  const safeUrl = (value) => {
    try {
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  };

  function buildDay(host) {
    const root = host.attachShadow({ mode: "open" });
    if (sheet && "adoptedStyleSheets" in root) root.adoptedStyleSheets = [sheet];
    else add(root, "style").textContent = CSS;
    const card = add(root, "div", "c");
    const w = { host, msg: add(card, "p", "m"), body: add(card, "div") };
    w.msg.textContent = "Loading events\u2026";
    w.body.hidden = true;
    w.title = add(w.body, "p", "t");
    w.head = add(w.body, "p", "h");
    w.list = add(w.body, "ul");
    w.link = add(w.body, "a");
    if (framed) {
      w.link.target = "_blank";
      w.link.rel = "noopener";
    }
    const limit = parseInt(host.getAttribute("data-limit"), 10);
    w.limit = limit > 0 ? Math.min(limit, 20) : 5;
    return w;
  }

  function counted(parent, n, one, many, attr) {
    const strong = add(parent, "strong");
    strong.textContent = fmt(n);
    strong.setAttribute(attr, n);
    parent.appendChild(document.createTextNode(` ${n === 1 ? one : many}`));
  }

  function showDay(d, w) {
    const info = d.info;
    w.title.textContent = info.title;
    w.head.replaceChildren();
    counted(w.head, info.event_count, "event", "events", "data-event-count");
    w.head.appendChild(document.createTextNode(" in "));
    counted(w.head, info.city_count, "city", "cities", "data-city-count");
    w.head.appendChild(document.createTextNode(" and "));
    counted(w.head, info.country_count, "country", "countries", "data-country-count");
    const now = Date.now();
    const next = info.events
      .filter((e) => Date.parse(e.starts_at) >= now - 2 * 3600 * 1000)
      .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at))
      .slice(0, w.limit);
    w.list.replaceChildren();
    for (const e of next) {
      const item = add(w.list, "li");
      item.setAttribute("data-event-id", e.id);
      const href = safeUrl(e.url);
      const a = add(item, href ? "a" : "span", href ? "" : "e");
      a.textContent = e.title;
      if (href) {
        a.href = href;
        if (framed) {
          a.target = "_blank";
          a.rel = "noopener";
        }
      }
      const where = e.mode === "online" ? "Online" : [e.city, e.country && region(e.country)].filter(Boolean).join(", ");
      const line = add(item, "span", "w");
      line.textContent = `${where} \u00b7 ${e.details_to_come ? "Details to come" : when(e)}`;
    }
    if (!next.length) add(w.list, "li", "m").textContent = "No upcoming events yet.";
    const page = safeUrl(info.url);
    w.link.hidden = !page;
    if (page) w.link.href = page;
    w.link.textContent = info.state === "open" ? "Find or host an event" : "See every event";
    w.msg.hidden = true;
    w.body.hidden = false;
  }

  async function refreshDay(d) {
    if (d.busy) return;
    d.busy = true;
    try {
      const data = await get(`/api/days/${encodeURIComponent(d.slug)}`);
      if (data.missing) {
        d.done = true;
        for (const w of d.widgets) {
          w.msg.textContent = "This day of action is not available.";
          w.msg.hidden = false;
          w.body.hidden = true;
        }
      } else {
        d.info = data;
        d.fails = 0;
        for (const w of d.widgets) showDay(d, w);
      }
    } catch (e) {
      d.fails += 1;
      if (!d.info) {
        for (const w of d.widgets) w.msg.textContent = "The events cannot be shown right now.";
      }
    }
    d.busy = false;
    clearTimeout(d.timer);
    if (!d.done) {
      const seconds = (document.hidden ? 6 : 1) * d.every * Math.min(32, 2 ** d.fails);
      d.timer = setTimeout(() => refreshDay(d), seconds * 1000);
    }
  }

  function scanDays() {
    const found = [];
    for (const host of document.querySelectorAll("div[data-day]")) {
      const slug = (host.getAttribute("data-day") || "").trim();
      if (!slug || host.shadowRoot) continue;
      let w;
      try {
        w = buildDay(host);
      } catch (e) {
        continue;
      }
      let d = days.get(slug);
      if (!d) {
        d = { slug, widgets: [], every: 60, fails: 0 };
        days.set(slug, d);
        found.push(d);
      }
      d.widgets.push(w);
      const every = parseFloat(host.getAttribute("data-poll-seconds"));
      if (every > 0) d.every = Math.max(5, Math.min(d.every, every));
      if (d.info) showDay(d, w);
    }
    found.forEach(refreshDay);
  }

  document.addEventListener("visibilitychange", () => {
    for (const p of petitions.values()) {
      if (p.busy || p.done) continue;
      if (!document.hidden && Date.now() - p.last >= p.every * 1000) refresh(p);
      else schedule(p);
    }
  });

  const start = () => {
    scan();
    scanDays();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
