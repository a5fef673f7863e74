// The kiosk's self-healing display (branch "heal"): the trickle of requests reaching the
// containers (the answering container lights up), the success rate ("12,345 requests · 3 failed
// · 99.98 %"), the time each kill took to heal, and who pressed the button (the autopilot, or a
// dry run that deleted nothing). Fed by the `availability` and `chaos` events of /stream; the
// server sends `availability` at most once a second, and nothing while nothing changes.
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
    "#health .note.heal{color:#7ff0b5}#health .note.autopilot{color:#ffd166}#health .note.dry{color:#9ad1ff}" +
    // On and off without a transition: two repaints per answer, no animation frames in between.
    // On and off without a transition: two repaints per answer, no animation frames in between.
    ".box.hit{box-shadow:0 0 0 3px #7ff0b5,0 0 18px 4px rgba(127,240,181,.85)}";
  document.head.appendChild(style);

  const panel = document.createElement("div");
  panel.id = "health";
  panel.hidden = true;
  panel.setAttribute("aria-live", "polite");
  const rate = document.createElement("span");
  rate.className = "rate";
  panel.appendChild(rate);
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
  function showRate(a) {
    panel.hidden = false;
    rate.classList.toggle("bad", a.failures > 0 && a.failures * 100 >= a.requests);
    rate.replaceChildren(
      document.createTextNode(number.format(a.requests) + " requests · " + number.format(a.failures) + " failed · "),
      Object.assign(document.createElement("b"), { textContent: percent(a.requests, a.failures) })
    );
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
    timers[kind] = setTimeout(function () { el.remove(); }, ms);
  }

  // The answering containers light up briefly: one class toggle per pod and event.
  const lit = new Map();
  function lightUp(name) {
    const box = document.querySelector('.box[data-pod="' + CSS.escape(name) + '"]:not(.gone)');
    if (!box) return;
    box.classList.add("hit");
    clearTimeout(lit.get(name));
    lit.set(name, setTimeout(function () { box.classList.remove("hit"); lit.delete(name); }, motion ? 450 : 900));
  }

  function onAvailability(a) {
    showRate(a);
    if (!document.hidden) Object.keys(a.hits || {}).forEach(lightUp);
    (a.healed || []).forEach(function (h) {
      note("heal", h.name + " healed in " + h.seconds.toFixed(1) + " s", 12000);
      // For the rest of the kiosk (its harbour log): the server's measurement of the heal.
      document.dispatchEvent(new CustomEvent("kiosk:healed", { detail: h }));
    });
  }

  function onChaos(c) {
    if (c.phase !== "picked") return;
    const who = c.by && c.by.kind === "autopilot" ? "The autopilot" : null;
    if (c.dryRun) {
      note("dry", "Dry run: " + c.name + " picked" + (who ? " by the autopilot" : "") + ", nothing deleted", 10000);
    } else if (who) {
      note("autopilot", "The autopilot pressed the button: nobody had for a while", 10000);
    }
  }

  let source = null;
  function connect() {
    if (source) source.close();
    source = new EventSource("/stream");
    source.addEventListener("availability", function (event) {
      try { onAvailability(JSON.parse(event.data)); } catch (e) { console.warn("kiosk-health: bad availability event", e); }
    });
    source.addEventListener("chaos", function (event) {
      try { onChaos(JSON.parse(event.data)); } catch (e) { console.warn("kiosk-health: bad chaos event", e); }
    });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 5000);
    };
  }
  connect();
  window.kioskHealth = { onAvailability: onAvailability, onChaos: onChaos };
})();
