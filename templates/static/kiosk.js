// conferenceli kiosk: draws the cluster as a harbour and keeps it live from /stream.
// One ship per node (.ship[data-node]), one container per pod (.box[data-pod][data-status]).
// The page never shows an error dialog: failures are logged and the stream reconnects.
"use strict";
(function () {
  const W = 1280, H = 800;
  const stage = document.getElementById("stage");
  const fleet = document.getElementById("fleet");
  const fx = document.getElementById("fx");
  const quay = document.querySelector("#quay .quay-boxes");
  const killsEl = document.getElementById("kills");
  const counterEl = document.getElementById("counter");
  const banner = document.getElementById("banner");
  const link = document.getElementById("link");
  const reduced = window.matchMedia("(prefers-reduced-motion: reduce)");
  const PALETTE = ["#e63946", "#f4a261", "#2a9d8f", "#3a86ff", "#e9c46a", "#8e44ad", "#ff6b9a", "#43aa8b", "#fb5607", "#6d597a"];
  const SVG = "http://www.w3.org/2000/svg";

  const pods = new Map();   // name -> pod view
  const nodes = new Map();  // name -> node view
  let killCount = 0;
  let animate = false;      // no animations for the very first picture
  const restoring = new Map(); // pods killed by chaos -> when, announced when they are back
  const logEl = document.getElementById("log");
  const logEntries = []; // newest first: { name, color, at, healed }

  // ---------- helpers ----------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function colorOf(pod) {
    if (pod.index !== null && pod.index !== undefined) return PALETTE[pod.index % PALETTE.length];
    let h = 0;
    for (const ch of pod.name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return PALETTE[h % PALETTE.length];
  }
  function rand(a, b) { return a + Math.random() * (b - a); }
  let scale = 1;
  function fit() {
    scale = Math.min(window.innerWidth / W, window.innerHeight / H) || 1;
    const x = (window.innerWidth - W * scale) / 2, y = (window.innerHeight - H * scale) / 2;
    stage.style.transform = "translate(" + x + "px," + y + "px) scale(" + scale + ")";
  }
  // The centre of an element in stage coordinates.
  function centre(e) {
    const s = stage.getBoundingClientRect(), r = e.getBoundingClientRect();
    return { x: (r.left + r.width / 2 - s.left) / scale, y: (r.top + r.height / 2 - s.top) / scale, w: r.width / scale, h: r.height / scale };
  }
  function later(ms, f) { setTimeout(function () { try { f(); } catch (e) { console.warn("kiosk:", e); } }, ms); }
  function motion() { return animate && !reduced.matches; }
  function showBanner(text, color) {
    banner.textContent = text;
    banner.style.background = color || "#b3202c";
    banner.classList.remove("show");
    void banner.offsetWidth;
    banner.classList.add("show");
  }

  // ---------- ships ----------
  function hullSvg() {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "hull");
    svg.setAttribute("viewBox", "0 0 400 96");
    svg.setAttribute("preserveAspectRatio", "none");
    const parts = [
      ["body", "M0 4 L400 0 L368 96 L26 96 Q8 64 0 4Z"],
      ["low", "M9 70 L389 70 L368 96 L26 96 Q14 84 9 70Z"],
      ["stripe", "M3 12 L396 8"],
    ];
    for (const [cls, d] of parts) {
      const p = document.createElementNS(SVG, "path");
      p.setAttribute("class", cls);
      p.setAttribute("d", d);
      svg.appendChild(p);
    }
    return svg;
  }
  function makeShip(node) {
    const ship = el("div", "ship");
    ship.dataset.node = node.name;
    const bob = el("div", "bob");
    const bridge = el("div", "bridge");
    bridge.append(el("div", "puff"), el("div", "funnel"), el("div", "house"), el("div", "lamp"));
    const placard = el("div", "placard", node.name);
    placard.dataset.role = "name";
    bob.append(el("div", "cargo"), bridge, hullSvg(), el("div", "meta"), placard);
    ship.appendChild(bob);
    return ship;
  }
  function updateShip(ship, node) {
    ship.classList.remove("KubeletReady", "NotReady", "Unknown");
    ship.classList.add(node.status);
    ship.classList.toggle("cordoned", !!node.unschedulable);
    ship.dataset.status = node.status;
    const meta = [node.kubeletVersion, node.architecture].filter(Boolean).join(" · ");
    ship.querySelector(".meta").textContent = meta;
  }
  function shipFor(name) {
    return fleet.querySelector('.ship[data-node="' + CSS.escape(name) + '"]:not(.sinking)');
  }
  function layoutShips() {
    const ships = Array.from(fleet.querySelectorAll(".ship:not(.sinking)"));
    const n = Math.max(ships.length, 1), gap = 28, avail = W - 80;
    const width = Math.min(440, (avail - gap * (n - 1)) / n);
    const total = width * n + gap * (n - 1);
    ships.forEach(function (ship, i) {
      ship.style.width = width + "px";
      ship.style.left = (W - total) / 2 + i * (width + gap) + "px";
    });
    // One container size for the whole harbour, from the fullest ship.
    let most = 1;
    ships.forEach(function (ship) { most = Math.max(most, ship.querySelectorAll(".cargo .box").length); });
    // Containers are long boxes (20 ft: about 2.3 : 1); as many columns as it takes to fit.
    const cargoW = width * 0.84 - 84;
    let bw = 200;
    for (let cols = 1; cols <= 16; cols++) {
      bw = Math.min(200, (cargoW - 4 * (cols - 1)) / cols);
      if (Math.ceil(most / cols) * (Math.min(bw * 0.45, 92) + 4) <= 280) break;
    }
    bw = Math.max(bw, 30);
    fleet.style.setProperty("--bw", bw + "px");
    fleet.style.setProperty("--bh", Math.min(bw * 0.45, 92) + "px");
  }
  function applyNode(node) {
    nodes.set(node.name, node);
    let ship = shipFor(node.name);
    if (!ship) {
      ship = makeShip(node);
      const sorted = Array.from(fleet.querySelectorAll(".ship:not(.sinking)"));
      const after = sorted.find(function (s) { return s.dataset.node > node.name; });
      fleet.insertBefore(ship, after || null);
      if (motion()) {
        ship.classList.add("arriving");
        later(3300, function () { ship.classList.remove("arriving"); });
      }
      // Pods waiting on the quay for this node climb aboard.
      pods.forEach(function (pod) { if (pod.node === node.name) placeBox(pod); });
    }
    updateShip(ship, node);
    layoutShips();
    updateTally();
  }
  function removeNode(name) {
    nodes.delete(name);
    updateTally();
    const ship = shipFor(name);
    if (!ship) return;
    // Its containers wait on the quay until their pods are gone or rescheduled.
    ship.querySelectorAll(".cargo .box").forEach(function (box) { quay.appendChild(box); });
    updateQuay();
    if (motion()) {
      ship.classList.add("sinking");
      later(3600, function () { ship.remove(); });
    } else {
      ship.remove();
    }
    layoutShips();
  }

  // ---------- containers ----------
  function boxFor(name) { return stage.querySelector('.box[data-pod="' + CSS.escape(name) + '"]:not(.gone)'); }
  function makeBox(pod) {
    const box = el("div", "box");
    box.dataset.pod = pod.name;
    box.style.setProperty("--c", colorOf(pod));
    box.append(el("span", "ord", pod.index !== null && pod.index !== undefined ? String(pod.index) : "?"),
      el("span", "name", pod.name), el("span", "reticle"));
    return box;
  }
  function sortKey(pod) { return [pod.index === null || pod.index === undefined ? 1e9 : pod.index, pod.name]; }
  function before(a, b) { const x = sortKey(a), y = sortKey(b); return x[0] !== y[0] ? x[0] < y[0] : x[1] < y[1]; }
  function placeBox(pod, element) {
    const box = element || boxFor(pod.name);
    if (!box) return;
    const ship = pod.node ? shipFor(pod.node) : null;
    const holder = ship ? ship.querySelector(".cargo") : quay;
    const siblings = Array.from(holder.children).filter(function (b) { return b !== box && !b.classList.contains("gone"); });
    const next = siblings.find(function (b) { const other = pods.get(b.dataset.pod); return other && before(pod, other); });
    if (box.parentElement !== holder || box.nextSibling !== (next || null)) holder.insertBefore(box, next || null);
    updateQuay();
  }
  // "5 / 5 pods running · 3 / 3 nodes ready": the health of the harbour in one line.
  function updateTally() {
    let running = 0, ready = 0;
    pods.forEach(function (p) { if (p.status === "Running") running++; });
    nodes.forEach(function (n) { if (n.status === "KubeletReady") ready++; });
    const podsEl = document.getElementById("tally-pods"), nodesEl = document.getElementById("tally-nodes");
    podsEl.textContent = running + " / " + pods.size + " pods running";
    nodesEl.textContent = ready + " / " + nodes.size + " nodes ready";
    podsEl.classList.toggle("short", running < pods.size);
    nodesEl.classList.toggle("short", ready < nodes.size);
  }
  function updateQuay() {
    document.getElementById("quay").classList.toggle("used", quay.children.length > 0);
  }
  function applyPod(pod) {
    const old = pods.get(pod.name);
    pods.set(pod.name, pod);
    let box = boxFor(pod.name);
    const fresh = !box;
    if (fresh) box = makeBox(pod);
    const was = fresh ? null : box.dataset.status;
    box.dataset.status = pod.status;
    box.dataset.node = pod.node || "";
    box.classList.remove("Pending", "Running", "Terminating", "Succeeded", "Failed", "Unknown");
    box.classList.add(pod.status);
    box.style.setProperty("--c", colorOf(pod));
    box.title = pod.name + " · " + pod.status + (pod.node ? " on " + pod.node : "");
    updateTally();
    if (fresh || !old || old.node !== pod.node || old.index !== pod.index) placeBox(pod, box);
    layoutShips();
    if (pod.status === "Terminating" && was !== "Terminating") explode(box, colorOf(pod));
    if (pod.status !== "Terminating") box.classList.remove("targeted");
    if (pod.status === "Running" && was !== "Running" && animate) deliver(box, pod);
  }
  function removePod(name) {
    pods.delete(name);
    updateTally();
    const box = boxFor(name);
    if (!box) return;
    box.classList.add("gone");
    if (motion()) debris(box, box.style.getPropertyValue("--c"), 10);
    later(700, function () { box.remove(); updateQuay(); layoutShips(); });
  }

  // ---------- effects ----------
  function explode(box, color) {
    if (!animate) return;
    const c = centre(box);
    const boom = el("div", "boom");
    boom.style.left = c.x + "px";
    boom.style.top = c.y + "px";
    if (!reduced.matches) {
      for (let i = 0; i < 4; i++) {
        const s = el("div", "smoke");
        s.style.setProperty("--dx", rand(-60, 60) + "px");
        s.style.animationDelay = (0.15 + i * 0.18) + "s";
        boom.appendChild(s);
      }
    }
    boom.appendChild(el("div", "fire"));
    fx.appendChild(boom);
    if (motion()) debris(box, color, 14);
    later(3200, function () { boom.remove(); });
  }
  function debris(box, color, count) {
    const c = centre(box);
    const group = el("div", "boom");
    group.style.left = c.x + "px";
    group.style.top = c.y + "px";
    for (let i = 0; i < count; i++) {
      const d = el("div", "debris");
      const angle = rand(0, Math.PI * 2), dist = rand(80, 220);
      d.style.setProperty("--c", color);
      d.style.setProperty("--dx", Math.cos(angle) * dist + "px");
      d.style.setProperty("--dy", Math.sin(angle) * dist + rand(60, 160) + "px");
      d.style.setProperty("--r", rand(-540, 540) + "deg");
      group.appendChild(d);
    }
    fx.appendChild(group);
    later(1500, function () { group.remove(); });
  }
  function droneSvg() {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "craft");
    svg.setAttribute("viewBox", "0 0 120 44");
    svg.innerHTML =
      '<rect x="8" y="8" width="104" height="6" rx="3" fill="#2b2d42"/>' +
      '<rect x="40" y="12" width="40" height="20" rx="8" fill="#ffb703"/>' +
      '<circle cx="60" cy="22" r="5" fill="#023047"/>' +
      '<rect x="56" y="32" width="8" height="10" fill="#2b2d42"/>' +
      '<ellipse class="rotor" cx="14" cy="6" rx="14" ry="3" fill="#8d99ae"/>' +
      '<ellipse class="rotor" cx="106" cy="6" rx="14" ry="3" fill="#8d99ae"/>';
    return svg;
  }
  // The recreated pod's container is lowered onto its ship by a drone.
  function deliver(box, pod) {
    const killedAt = restoring.get(pod.name);
    if (killedAt !== undefined) {
      restoring.delete(pod.name);
      const seconds = ((Date.now() - killedAt) / 1000).toFixed(1);
      showBanner(pod.name + " is back: Kubernetes healed it in " + seconds + " s", "#2a9d8f");
      const entry = logEntries.find(function (e) { return e.name === pod.name && e.healed === null; });
      if (entry) { entry.healed = seconds; renderLog(); }
    }
    if (!motion() || !box.isConnected) return;
    box.classList.add("incoming");
    const target = centre(box);
    const drone = el("div", "drone");
    const load = box.cloneNode(true);
    load.classList.remove("incoming", "Pending");
    load.classList.add("load");
    load.removeAttribute("data-pod");
    load.style.width = target.w + "px";
    load.style.height = target.h + "px";
    drone.append(droneSvg(), el("div", "cable"), load);
    drone.style.width = Math.max(target.w, 120) + "px";
    fx.appendChild(drone);
    const dw = Math.max(target.w, 120), dh = 44 + 26 + target.h;
    const endX = target.x - dw / 2, endY = target.y + target.h / 2 - dh;
    // In from the left, low over the water, then sideways into the slot: never through a stack.
    const down = drone.animate([
      { transform: "translate(" + (endX - 520) + "px," + (endY - 260) + "px)" },
      { transform: "translate(" + (endX - 240) + "px," + endY + "px)", offset: 0.6 },
      { transform: "translate(" + endX + "px," + endY + "px)" },
    ], { duration: 1900, easing: "ease-out", fill: "forwards" });
    down.onfinish = function () {
      box.classList.remove("incoming");
      load.remove();
      drone.querySelector(".cable").remove();
      const up = drone.animate([
        { transform: "translate(" + endX + "px," + (endY + target.h + 26) + "px)" },
        { transform: "translate(" + endX + "px," + (endY - 60) + "px)", offset: 0.3 },
        { transform: "translate(" + (endX + 420) + "px," + (-260) + "px)" },
      ], { duration: 1400, easing: "ease-in", fill: "forwards" });
      up.onfinish = function () { drone.remove(); };
    };
    // Whatever happens to the animation, the container is never left invisible.
    later(2600, function () { box.classList.remove("incoming"); });
  }
  // The harbour log: the last three kills and how long Kubernetes took to heal each.
  function logKill(name) {
    const pod = pods.get(name);
    logEntries.unshift({ name: name, index: pod ? pod.index : null, color: pod ? colorOf(pod) : "#888", at: new Date(), healed: null });
    logEntries.length = Math.min(logEntries.length, 3);
    renderLog();
  }
  function renderLog() {
    logEl.replaceChildren.apply(logEl, logEntries.map(function (e) {
      const li = el("li");
      const chip = el("span", "chip", e.index === null || e.index === undefined ? "?" : String(e.index));
      chip.style.setProperty("--c", e.color);
      const when = el("span", "when", e.at.toTimeString().slice(0, 5));
      const what = e.healed === null ? el("span", "down", e.name + " destroyed, Kubernetes is on it…")
        : el("span", "healed", e.name + " healed in " + e.healed + " s");
      li.append(when, chip, what);
      return li;
    }));
  }
  function target(name) {
    const box = boxFor(name);
    if (!box) return;
    box.classList.add("targeted");
    later(2500, function () { box.classList.remove("targeted"); });
  }

  // ---------- scene events ----------
  const scenes = {
    storm: function () {
      const dark = el("div", "storm-dark"), rain = el("div", "rain"), flash = el("div", "lightning");
      fx.append(dark, rain, flash);
      document.body.classList.add("storm");
      showBanner("Storm warning! Will the cluster hold?", "#33415c");
      later(12000, function () { dark.remove(); rain.remove(); flash.remove(); document.body.classList.remove("storm"); });
    },
    seagulls: function () {
      for (let i = 0; i < 9; i++) {
        const g = el("div", "gull");
        g.style.top = rand(150, 380) + "px";
        g.style.setProperty("--t", rand(7, 11) + "s");
        g.style.setProperty("--dy", rand(-120, 60) + "px");
        g.style.animationDelay = rand(0, 3) + "s";
        const scale = rand(0.6, 1.2);
        g.style.width = 110 * scale + "px";
        g.innerHTML = '<svg viewBox="0 0 70 30"><path d="M2 14 Q18 0 35 16 Q52 0 68 14 Q52 8 35 24 Q18 8 2 14Z" fill="' +
          (document.body.classList.contains("night") ? "#cfd8e3" : "#1d2d44") + '"/></svg>';
        fx.appendChild(g);
        later(15000, function () { g.remove(); });
      }
    },
    fireworks: function () {
      const colors = ["#ff595e", "#ffca3a", "#8ac926", "#1982c4", "#ff9ff3", "#ffffff", "#fb5607"];
      for (let b = 0; b < 12; b++) {
        later(b * 650 + rand(0, 300), function () {
          const burst = el("div", "burst");
          burst.style.left = rand(120, 1160) + "px";
          burst.style.top = rand(130, 330) + "px";
          const color = colors[Math.floor(rand(0, colors.length))];
          for (let i = 0; i < 26; i++) {
            const s = el("div", "spark");
            const a = (i / 26) * Math.PI * 2, r = rand(120, 190);
            s.style.setProperty("--c", color);
            s.style.setProperty("--dx", Math.cos(a) * r + "px");
            s.style.setProperty("--dy", Math.sin(a) * r + "px");
            burst.appendChild(s);
          }
          fx.appendChild(burst);
          later(2200, function () { burst.remove(); });
        });
      }
      showBanner("Thank you for visiting our booth!", "#6d597a");
    },
    whale: function () {
      const whale = el("div", "whale");
      whale.innerHTML = '<div class="body"><div class="spout"></div><svg viewBox="0 0 300 150" width="300" height="150">' +
        '<path d="M10 110 Q40 30 150 40 Q250 48 272 96 L298 70 Q300 108 276 118 Q250 150 150 146 Q40 144 10 110Z" fill="#335c81"/>' +
        '<path d="M30 118 Q90 140 170 136 Q230 132 262 112 Q230 146 150 146 Q60 144 30 118Z" fill="#cfe3f3"/>' +
        '<circle cx="72" cy="84" r="6" fill="#0b1b2b"/><path d="M120 96 Q140 112 160 96" stroke="#0b1b2b" stroke-width="4" fill="none"/></svg></div>' +
        '<svg class="water" viewBox="0 0 300 56" preserveAspectRatio="none"><path d="M0 14 Q37 0 75 14 T150 14 T225 14 T300 14 V56 H0z" fill="#114f86"/>' +
        '<path d="M0 14 Q37 0 75 14 T150 14 T225 14 T300 14" fill="none" stroke="#fff" stroke-opacity=".6" stroke-width="3"/></svg>';
      stage.appendChild(whale);
      later(9500, function () { whale.remove(); });
    },
  };

  // ---------- state from the server ----------
  function setKills(n, bump) {
    if (n === killCount && killsEl.textContent !== "") return;
    const grew = n > killCount;
    killCount = n;
    killsEl.textContent = String(n);
    if (bump && grew && !reduced.matches) {
      counterEl.classList.remove("bump");
      void counterEl.offsetWidth;
      counterEl.classList.add("bump");
    }
  }
  function setMode(mode) {
    document.body.classList.toggle("night", mode === "night");
    document.body.classList.toggle("day", mode !== "night");
  }
  function applySnapshot(s) {
    const nodeNames = new Set(s.nodes.map(function (n) { return n.name; }));
    Array.from(nodes.keys()).forEach(function (name) { if (!nodeNames.has(name)) removeNode(name); });
    s.nodes.forEach(applyNode);
    const podNames = new Set(s.pods.map(function (p) { return p.name; }));
    Array.from(pods.keys()).forEach(function (name) { if (!podNames.has(name)) removePod(name); });
    s.pods.forEach(applyPod);
    setKills(s.killCount, animate);
    setMode(s.mode);
  }
  const handlers = {
    snapshot: applySnapshot,
    pod: applyPod,
    podDeleted: function (d) { removePod(d.name); },
    node: applyNode,
    nodeDeleted: function (d) { removeNode(d.name); },
    booth: function (b) { setKills(b.killCount, true); setMode(b.mode); },
    chaos: function (c) {
      if (c.phase === "picked") target(c.name);
      if (c.phase === "killed") { restoring.set(c.name, Date.now()); logKill(c.name); showBanner("BOOM! " + c.name + " destroyed"); }
    },
    scene: function (s) { const play = scenes[s.name]; if (play && !document.hidden) play(); },
  };

  // ---------- the live connection ----------
  let source = null, lastHeard = Date.now(), retryMs = 1000;
  function connect() {
    if (source) source.close();
    source = new EventSource("/stream");
    source.onopen = function () { link.className = "up"; retryMs = 1000; lastHeard = Date.now(); };
    source.onerror = function () {
      link.className = "down";
      // EventSource retries by itself unless the server answered with an error status.
      if (source.readyState === EventSource.CLOSED) {
        later(retryMs, connect);
        retryMs = Math.min(retryMs * 2, 15000);
      }
    };
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (event) {
        lastHeard = Date.now();
        try { handlers[name](JSON.parse(event.data)); } catch (e) { console.warn("kiosk: bad " + name + " event", e); }
      });
    });
  }
  // A quiet stream is normal, but after 45 s reconnecting costs nothing and fetches a fresh
  // snapshot, so the picture can never be stale by more than that.
  setInterval(function () { if (Date.now() - lastHeard > 45000) { lastHeard = Date.now(); connect(); } }, 5000);
  window.addEventListener("resize", fit);

  fit();
  try { applySnapshot(JSON.parse(document.getElementById("initial").textContent)); } catch (e) { console.warn("kiosk:", e); }
  animate = true;
  connect();
  window.kiosk = { scenes: scenes, pods: pods, nodes: nodes };
})();
