// The kiosk's self-healing display: the trickle of requests reaching the containers (the
// answering container lights up), the success rate ("12,345 requests · 3 failed · 99.98 %"), and
// who pressed the button (the autopilot, or a dry run that deleted nothing), what the disruption
// budget said when it refused an eviction, and the booth day's fastest heal. The time each kill
// took to heal is kiosk.js's (its banner and harbour log). Fed by the `availability`, `chaos`
// and `snapshot` events of kiosk.js's stream (window.kiosk.listen); the server sends `availability` at most once
// a second, and nothing while nothing changes. Every change is written on the page's frame grid
// (window.kiosk.onTick, onNextTick), so the display adds no frames of its own to the idle page.
(function () {
  "use strict";
  const motion = window.matchMedia ? !window.matchMedia("(prefers-reduced-motion: reduce)").matches : true;
  const style = document.createElement("style");
  style.textContent =
    "#health{position:absolute;right:24px;top:158px;z-index:6;display:flex;flex-direction:column;" +
    "align-items:flex-end;gap:6px;pointer-events:none;font-family:inherit}" +
    "#health[hidden]{display:none}" +
    "#health .rate{background:rgba(5,20,40,.66);color:#fff;font-size:22px;font-weight:600;padding:6px 16px;border-radius:999px;" +
    "white-space:nowrap;font-variant-numeric:tabular-nums}" +
    "#health .rate b{color:#7ff0b5}#health .rate.bad b{color:#ffb4a2}" +
    "#health .note{background:rgba(5,20,40,.66);color:#fff;font-size:19px;padding:4px 14px;border-radius:999px;white-space:nowrap}" +
    "#health .note.autopilot{color:#ffd166}#health .note.dry{color:#9ad1ff}#health .note.guard{color:#9ad1ff}" +
    "#health .fastest{background:rgba(5,20,40,.66);color:#fff;font-size:19px;padding:4px 14px;border-radius:999px;white-space:nowrap}" +
    "#health .fastest b{color:#7ff0b5;font-variant-numeric:tabular-nums}" +
    // On and off without a transition, each on a grid tick: no frames of its own.
    ".box.hit{box-shadow:0 0 0 3px #7ff0b5,0 0 18px 4px rgba(127,240,181,.85)}";
  document.head.appendChild(style);

  const panel = document.createElement("div");
  panel.id = "health";
  panel.hidden = true;
  panel.setAttribute("aria-live", "polite");
  const rate = document.createElement("span");
  rate.className = "rate";
  const counts = document.createTextNode("");
  const ratio = document.createElement("b");
  rate.append(counts, ratio);
  panel.appendChild(rate);
  // "Fastest heal today: 2.9 s · critical-prod-3", once there was one this booth day.
  const fastest = document.createElement("span");
  fastest.className = "fastest";
  fastest.hidden = true;
  const fastestFigure = document.createElement("b"), fastestPod = document.createTextNode("");
  fastest.append(document.createTextNode("Fastest heal today: "), fastestFigure, fastestPod);
  panel.appendChild(fastest);
  const notes = document.createElement("div");
  notes.style.display = "contents";
  panel.appendChild(notes);
  (document.getElementById("stage") || document.body).appendChild(panel);

  const number = new Intl.NumberFormat("en-US");
  // "99.98 %": rounded down, so any failure never shows as 100 %.
  function percent(requests, failures) {
    if (requests === 0) return "–";
    const ok = Math.floor(((requests - failures) / requests) * 10000) / 100;
    return ok.toFixed(2) + " %";
  }
  // Only what changed is written: a text node's data, not new elements.
  function showRate(a) {
    // Nothing to say with no requests: the trickle is off, or the booth's day has just begun.
    rate.hidden = a.requests === 0;
    if (rate.hidden) return;
    panel.hidden = false;
    rate.classList.toggle("bad", a.failures > 0 && a.failures * 100 >= a.requests);
    counts.data = number.format(a.requests) + " requests · " + number.format(a.failures) + " failed · ";
    const shown = percent(a.requests, a.failures);
    if (ratio.textContent !== shown) ratio.textContent = shown;
    rate.dataset.requests = a.requests;
    rate.dataset.failures = a.failures;
  }

  // One note per kind (heal, autopilot, dry run), the newest replacing the older, gone after a while.
  const timers = {};
  function note(kind, text, ms) {
    let el = notes.querySelector(".note." + kind);
    if (!el) {
      el = document.createElement("span");
      el.className = "note " + kind;
      notes.appendChild(el);
    }
    el.textContent = text;
    panel.hidden = false;
    clearTimeout(timers[kind]);
    timers[kind] = setTimeout(function () { kiosk.onTick(function () { el.remove(); }); }, ms);
  }

  // The answering containers light up for one grid tick (two with reduced motion, which has no
  // grid of its own to hide in): the class goes on and off in frames drawn anyway.
  const kiosk = window.kiosk;
  function lightUp(names) {
    const boxes = names.map(function (name) {
      return document.querySelector('.box[data-pod="' + CSS.escape(name) + '"]:not(.gone)');
    }).filter(Boolean);
    boxes.forEach(function (box) { box.classList.add("hit"); });
    const off = function () { boxes.forEach(function (box) { box.classList.remove("hit"); }); };
    kiosk.onNextTick(motion ? off : function () { kiosk.onNextTick(off); });
  }

  // Events that arrive before the next tick are merged into one write: the latest totals and
  // every pod that answered (also while the page is hidden and no frame runs).
  let pending = null;
  function onAvailability(a) {
    const first = pending === null;
    pending = Object.assign({}, a, { hits: Object.assign({}, first ? {} : pending.hits, a.hits) });
    if (!first) return;
    kiosk.onTick(function () {
      const latest = pending;
      pending = null;
      showRate(latest);
      if (!document.hidden) lightUp(Object.keys(latest.hits));
    });
  }

  // The day's fastest heal as the server keeps it (`fastestHeal` of the snapshot, `fastest` of
  // `availability`); none at the start of a booth day.
  let fastestShown = "";
  function showFastest(heal) {
    const text = heal ? Number(heal.seconds).toFixed(1) + " s · " + heal.name : "";
    if (text === fastestShown) return;
    fastestShown = text;
    kiosk.onTick(function () {
      fastest.hidden = !heal;
      if (!heal) return;
      panel.hidden = false;
      fastestFigure.textContent = Number(heal.seconds).toFixed(1) + " s";
      fastestPod.data = " · " + heal.name;
    });
  }

  function onChaos(c) {
    if (c.phase === "refused") {
      const b = c.budget || {};
      const said = b.budget && b.needs !== undefined && b.needs !== null
        ? "the disruption budget " + b.budget + " needs " + b.needs + " healthy pods and has " + b.has : (b.message || "the disruption budget");
      note("guard", "Kubernetes said no: " + said, 10000);
      return;
    }
    if (c.phase !== "picked") return;
    const who = c.by && c.by.kind === "autopilot" ? "The autopilot" : null;
    if (c.dryRun) {
      note("dry", "Dry run: " + c.name + " picked" + (who ? " by the autopilot" : "") + ", nothing deleted", 10000);
    } else if (who) {
      note("autopilot", "The autopilot pressed the button: nobody had for a while", 10000);
    }
  }

  kiosk.listen("availability", onAvailability);
  kiosk.listen("availability", function (a) { showFastest(a.fastest); });
  kiosk.listen("snapshot", function (s) { showFastest(s.fastestHeal); });
  kiosk.listen("chaos", onChaos);
  try { showFastest(JSON.parse(document.getElementById("initial").textContent).fastestHeal); } catch (e) { console.warn("kiosk-health:", e); }
  window.kioskHealth = { onAvailability: onAvailability, onChaos: onChaos };
})();
