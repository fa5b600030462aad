/* Petition widget. <script src="https://OUR-SITE/embed/widget.js" async></script> fills each
 * <div data-petition="SLUG"> with a live count card in an open shadow root. Options on the div:
 * data-theme="dark"; data-source="TAG" for the sign link (default: the page's hostname);
 * data-poll-seconds="N" (default 10, at least 1; 6x while the tab is hidden); data-lang="CODE"
 * (default: the page's <html lang>, else the browser's; English if not in CODES below).
 * <div data-day="SLUG">: a day of action, "N events in M cities and K countries" and the next
 * events at their own local time, linked; data-theme, data-lang, data-limit="N" (default 5,
 * 1 to 20), data-poll-seconds (default 60). Data reaches the DOM only as text and attributes.
 * One request per petition on load (and per language for its words), then one count request
 * per petition and interval, never two at once.
 */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.src) return;
  const origin = new URL(script.src).origin;
  const framed = window.top !== window.self;
  const polls = new Map();
  // The reader's page: this one, or in a frame the page around us (the referrer).
  let here = location.hostname;
  try {
    if (framed) here = new URL(document.referrer).hostname;
  } catch (e) {
    here = "";
  }

  // Every locale file has these keys. {name} is filled in; an object is a plural, one entry
  // per Intl.PluralRules category of its language.
  const EN = {
    "load": "Loading petition\u2026",
    "sig": { "one": "{n} signature", "other": "{n} signatures" },
    "bar": { "one": "Progress toward {n} signature", "other": "Progress toward {n} signatures" },
    "more": "{n} more to reach \u201c{label}\u201d",
    "next": { "one": "Next goal: {n} signature", "other": "Next goal: {n} signatures" },
    "sign": "Sign the petition",
    "gone": "This petition is not available.",
    "fail": "The count cannot be shown right now.",
    "day": "{events} in {cities} and {countries}",
    "events": { "one": "{n} event", "other": "{n} events" },
    "cities": { "one": "{n} city", "other": "{n} cities" },
    "countries": { "one": "{n} country", "other": "{n} countries" },
    "online": "Online",
    "tbc": "Details to come",
    "none": "No upcoming events yet.",
    "host": "Find or host an event",
    "all": "See every event",
    "dload": "Loading events\u2026",
    "dgone": "This day of action is not available.",
    "dfail": "The events cannot be shown right now."
  };
  const CODES = "ar cs da de el es fa fr he hi hu id it ja ko nl pl pt ro ru sv tr uk zh".split(" ");
  const langs = new Map();

  function lang(host) {
    const tag = `${host.getAttribute("data-lang") || document.documentElement.lang || navigator.language}`.trim();
    let code = tag.toLowerCase().split(/[-_]/)[0];
    // zh is Simplified: Traditional readers get English rather than the other script.
    if (!CODES.includes(code) || /^zh.(hant|tw|hk|mo)/i.test(tag)) code = "en";
    let l = langs.get(code);
    if (l) return l;
    l = { code, t: EN, fmt: String, region: (c) => c };
    try {
      l.fmt = new Intl.NumberFormat(code).format;
      l.rules = new Intl.PluralRules(code);
      const names = new Intl.DisplayNames([code], { type: "region" });
      l.region = (c) => names.of(c) || c;
    } catch (e) {}
    // Fetched beside the first data request; never rejects: English unless the words arrive.
    const ask = code === "en" ? Promise.resolve({}) : get(`/embed/locales/${code}.json`, 5000);
    l.ready = ask.then((t) => t.missing || (l.t = { ...EN, ...t })).catch(() => {});
    langs.set(code, l);
    return l;
  }
  // The template for key in l's language, its plural form for n if it has them.
  const words = (l, key, n) => {
    const s = l.t[key];
    return typeof s === "object" ? s[l.rules ? l.rules.select(n) : "other"] || s.other : s;
  };
  const fill = (tpl, vals) => tpl.replace(/\{(\w+)\}/g, (m, k) => vals[k] ?? "");
  // A template into parent, as text and the nodes (or strings) vals names.
  const put = (parent, tpl, vals) =>
    tpl.split(/\{(\w+)\}/).forEach((s, i) => parent.append(i % 2 ? vals[s] || "" : s));

  // all:initial on the card, as page rules on the div itself beat :host rules. Sides are
  // logical (block/inline, start), so one sheet serves both directions.
  const CSS = `:host{display:block}
.c{all:initial;display:block;box-sizing:border-box;max-width:26em;text-align:start;
padding-block:1em 1.1em;padding-inline:1.15em;
--bg:#fff;--fg:#1d1d1f;--mu:#5c5c66;--ac:#b0005e;--on:#fff;--tr:#f0e4ea;--bd:#e4dde1;
border:1px solid var(--bd);border-radius:.8em;background:var(--bg);color:var(--fg);
font:15px/1.4 system-ui,"Segoe UI",sans-serif;box-shadow:0 1px 3px #0001}
:host([data-theme=dark]) .c{--bg:#1e1c22;--fg:#f4f1f5;--mu:#b9b2bf;--ac:#ff6fae;--on:#1e1c22;
--tr:#3a3640;--bd:#3a3640}
p{margin:0}[hidden]{display:none!important}
.t{font-weight:700;font-size:1.05em;line-height:1.3;margin-block-end:.6em}
strong{font-variant-numeric:tabular-nums}
.n{font-size:2.1em;font-weight:800;letter-spacing:-.02em;line-height:1.1;color:var(--fg)}
.l,.g,.m{color:var(--mu)}.g{font-size:.9em}
.b{height:.6em;margin-block:.55em .45em;border-radius:1em;background:var(--tr);overflow:hidden}
.f{height:100%;width:0;border-radius:inherit;background:var(--ac);transition:width .6s}
a{display:inline-block;margin-block-start:.85em;padding:.55em 1.2em;border-radius:.45em;
background:var(--ac);color:var(--on);font-weight:700;text-decoration:none}
a:hover{filter:brightness(1.1)}a:focus-visible{outline:3px solid var(--fg);outline-offset:2px}
.s{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.h{margin-block-end:.5em}
ul{list-style:none;margin-block:.4em 0;padding:0}li{padding-block:.45em;border-block-start:1px solid var(--bd)}
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
  // In a frame, links open a tab: our pages refuse framing.
  const link = (parent) =>
    Object.assign(add(parent, "a"), framed ? { target: "_blank", rel: "noopener" } : {});

  // A card in its language and direction; its loading note once the words are there.
  function card(host, l, loading) {
    const root = host.attachShadow({ mode: "open" });
    if (sheet && "adoptedStyleSheets" in root) root.adoptedStyleSheets = [sheet];
    else add(root, "style").textContent = CSS;
    const c = add(root, "div", "c");
    c.lang = l.code;
    c.dir = /^(ar|fa|he)$/.test(l.code) ? "rtl" : "ltr";
    const w = { host, c, msg: add(c, "p", "m"), body: add(c, "div") };
    w.body.hidden = true;
    l.ready.then(() => {
      if (!w.msg.textContent) w.msg.textContent = l.t[loading];
    });
    return w;
  }

  function build(host, l) {
    const w = card(host, l, "load");
    w.title = add(w.body, "p", "t");
    w.line = add(w.body, "p", "l");
    w.num = add(w.line, "strong", "n");
    w.bar = add(w.body, "div", "b");
    w.bar.setAttribute("role", "progressbar");
    w.bar.setAttribute("aria-valuemin", 0);
    w.fill = add(w.bar, "div", "f");
    w.goal = add(w.body, "p", "g");
    w.label = document.createElement("bdi");
    w.link = link(w.body);
    w.live = add(w.c, "span", "s");
    w.live.setAttribute("aria-live", "polite");
    return w;
  }

  function show(p, w) {
    const { info, count: n, goal, l } = p;
    const was = w.num.getAttribute("data-signature-count");
    w.title.textContent = info.title;
    try {
      const url = new URL(info.url);
      const source = w.host.getAttribute("data-source") || here;
      if (source) url.searchParams.set("source", source);
      url.searchParams.set("lang", l.code);
      if (/^https?:$/.test(url.protocol)) w.link.href = url.href;
    } catch (e) {}
    w.link.textContent = l.t.sign;
    w.num.textContent = l.fmt(n);
    w.num.setAttribute("data-signature-count", n);
    w.line.replaceChildren();
    put(w.line, words(l, "sig", n), { n: w.num });
    w.bar.setAttribute("aria-valuemax", goal);
    w.bar.setAttribute("aria-valuenow", n);
    w.bar.setAttribute("aria-label", fill(words(l, "bar", goal), { n: l.fmt(goal) }));
    w.fill.style.width = `${goal > 0 ? Math.min(100, (100 * n) / goal) : 100}%`;
    const next = (info.milestones || []).find((m) => m.count === goal);
    w.goal.replaceChildren();
    if (next && goal > n) {
      // The label in its own direction (<bdi>): an English one in an Arabic line, or the reverse.
      w.label.textContent = next.label;
      put(w.goal, words(l, "more", goal - n), { n: l.fmt(goal - n), label: w.label });
    } else put(w.goal, words(l, "next", goal), { n: l.fmt(goal) });
    if (was !== null && was !== String(n)) w.live.textContent = fill(words(l, "sig", n), { n: l.fmt(n) });
    w.msg.hidden = true;
    w.body.hidden = false;
  }

  function note(p, key) {
    for (const w of p.widgets) {
      w.msg.textContent = p.l.t[key];
      w.msg.hidden = false;
      w.body.hidden = true;
    }
  }

  async function get(path, ms = 15000) {
    // A stuck request must not stall the polls.
    const signal = AbortSignal.timeout ? AbortSignal.timeout(ms) : null;
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
    const { k, l } = p;
    try {
      // The words come in parallel: the first answer waits for them, not after them.
      const [data] = await Promise.all([get(k.path(p)), l.ready]);
      if (data.missing) {
        p.done = true;
        note(p, k.gone);
      } else {
        p.fails = 0;
        if (k.take(p, data)) for (const w of p.widgets) k.show(p, w);
      }
    } catch (e) {
      p.fails += 1; // keep what is shown, try again later
      await l.ready;
      if (!p.info) note(p, k.fail);
    }
    p.busy = false;
    schedule(p);
  }

  const PETITION = {
    attr: "data-petition",
    build,
    show,
    every: 10,
    floor: 1,
    gone: "gone",
    fail: "fail",
    path: (p) => `/api/petitions/${encodeURIComponent(p.slug)}${p.info ? "/count" : `?lang=${p.l.code}`}`,
    take(p, data) {
      p.info = p.info || data;
      // App servers cache apart: an older snapshot must not take the count back.
      const at = Date.parse(data.updated_at) || 0;
      if (at < p.at) return false;
      [p.at, p.count, p.goal] = [at, data.signature_count, data.goal];
      return true;
    },
  };

  // --- days of action ----------------------------------------------------------------------
  const when = (e, l) => {
    try {
      // The event's own clock and zone: 18:00 in Dublin reads 18:00 wherever the reader is.
      return new Intl.DateTimeFormat(l.code, {
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
  const safeUrl = (value) => {
    try {
      const url = new URL(value);
      return /^https?:$/.test(url.protocol) ? url.href : null;
    } catch (e) {
      return null;
    }
  };

  function buildDay(host, l) {
    const w = card(host, l, "dload");
    w.title = add(w.body, "p", "t");
    w.head = add(w.body, "p", "h");
    w.list = add(w.body, "ul");
    w.link = link(w.body);
    const limit = parseInt(host.getAttribute("data-limit"), 10);
    w.limit = limit > 0 ? Math.min(limit, 20) : 5;
    return w;
  }

  // "{n} cities" with the number as <strong attr=n>.
  function counted(l, key, n, attr) {
    const part = document.createDocumentFragment();
    const strong = document.createElement("strong");
    strong.textContent = l.fmt(n);
    strong.setAttribute(attr, n);
    put(part, words(l, key, n), { n: strong });
    return part;
  }

  function showDay(d, w) {
    const { info, l } = d;
    w.title.textContent = info.title;
    w.head.replaceChildren();
    put(w.head, words(l, "day", 0), {
      events: counted(l, "events", info.event_count, "data-event-count"),
      cities: counted(l, "cities", info.city_count, "data-city-count"),
      countries: counted(l, "countries", info.country_count, "data-country-count"),
    });
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
      const a = href ? link(item) : add(item, "span", "e");
      a.textContent = e.title;
      if (href) a.href = href;
      const where = e.mode === "online" ? l.t.online : [e.city, e.country && l.region(e.country)].filter(Boolean).join(", ");
      const line = add(item, "span", "w");
      line.textContent = `${where} \u00b7 ${e.details_to_come ? l.t.tbc : when(e, l)}`;
    }
    if (!next.length) add(w.list, "li", "m").textContent = l.t.none;
    const page = safeUrl(info.url);
    w.link.hidden = !page;
    if (page) w.link.href = page;
    w.link.textContent = info.state === "open" ? l.t.host : l.t.all;
    w.msg.hidden = true;
    w.body.hidden = false;
  }

  const DAY = {
    attr: "data-day",
    build: buildDay,
    show: showDay,
    every: 60,
    floor: 5,
    gone: "dgone",
    fail: "dfail",
    path: (d) => `/api/days/${encodeURIComponent(d.slug)}?lang=${d.l.code}`,
    take: (d, data) => (d.info = data),
  };

  // Each new div of the kind k: its card, and one poll per slug and language (the title is the
  // language's) at the shortest interval its divs ask for, at least k.floor seconds.
  function scan(k) {
    const found = [];
    for (const host of document.querySelectorAll(`div[${k.attr}]`)) {
      const slug = (host.getAttribute(k.attr) || "").trim();
      if (!slug || host.shadowRoot) continue;
      const l = lang(host);
      let w;
      try {
        w = k.build(host, l);
      } catch (e) {
        continue; // the page gave it a closed shadow root of its own
      }
      const key = `${k.attr} ${l.code} ${slug}`;
      let p = polls.get(key);
      if (!p) {
        p = { k, slug, l, widgets: [], every: k.every, fails: 0, last: 0, at: 0 };
        polls.set(key, p);
        found.push(p);
      }
      p.widgets.push(w);
      const asked = parseFloat(host.getAttribute("data-poll-seconds"));
      if (asked > 0) {
        p.every = Math.max(k.floor, p.asked ? Math.min(p.every, asked) : asked);
        p.asked = true;
      }
      if (p.info) k.show(p, w);
    }
    found.forEach(refresh);
  }

  document.addEventListener("visibilitychange", () => {
    for (const p of polls.values()) {
      if (p.busy || p.done) continue;
      if (!document.hidden && Date.now() - p.last >= p.every * 1000) refresh(p);
      else schedule(p);
    }
  });

  const start = () => {
    scan(PETITION);
    scan(DAY);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
