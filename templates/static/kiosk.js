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
  function guarded(f, arg) { try { f(arg); } catch (e) { console.warn("kiosk:", e); } }
  // `f` after `ms`, on the grid's next tick (see "the frame grid"): no timer writes the page
  // between two ticks.
  function later(ms, f) { setTimeout(function () { onTick(f); }, ms); }
  // Runs `f(centre of e)` with the tick's writes. The containers' positions are read just before
  // the tick's frame, between two frames, when the layout is clean (nothing to compute); a
  // container placed by the writes is measured once they are done, all such together: one
  // layout for a tick's burst of stream events, not one per event.
  let measures = [], placed = null;
  function whereNext(e, f) {
    if (document.hidden) return; // decoration only: nothing to show on a hidden page
    const known = placed && placed.get(e);
    if (known && writing && !framed) { f(known); return; }
    measures.push([e, f, known]); // in the tick's frame, an effect waits for the slices after it
    onTick(function () {}); // a tick's writes end with the positions asked for
  }
  // Where every container is, before a tick's writes move anything.
  function measureBoxes() {
    placed = new Map();
    stage.querySelectorAll(".box").forEach(function (b) { placed.set(b, centre(b)); });
  }
  function motion() { return animate && !reduced.matches; }
  // The banner pops up big on a tick, settles on the next, dims four ticks later and is gone on
  // the one after: class changes on the grid, no motion of its own between its ticks.
  let bannerShown = 0;
  function showBanner(text, color) {
    onTick(function () {
      const shown = ++bannerShown;
      banner.textContent = text;
      banner.style.background = color || "#b3202c";
      banner.className = reduced.matches ? "up" : "pop";
      const next = function (ticks, cls) { afterTicks(ticks, function () { if (bannerShown === shown) banner.className = cls; }); };
      next(1, "up");
      next(5, reduced.matches ? "up" : "fading");
      next(6, "");
    });
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
  // A ship: what sails (.sail: a drained node's ship leaves its berth and comes back) holds
  // what bobs (.bob: hull, bridge, cargo); the berth's sign (.berth) stays while it is away.
  function makeShip(node) {
    const ship = el("div", "ship");
    ship.dataset.node = node.name;
    const sail = el("div", "sail"), bob = el("div", "bob");
    const bridge = el("div", "bridge");
    bridge.append(el("div", "puff"), el("div", "funnel"), el("div", "house"), el("div", "lamp"));
    const placard = el("div", "placard", node.name);
    placard.dataset.role = "name";
    bob.append(el("div", "cargo"), bridge, hullSvg(), el("div", "meta"), el("div", "cordon", "cordoned"), placard);
    sail.appendChild(bob);
    const berth = el("div", "berth");
    berth.append(el("span", "buoy"), el("span", "berth-sign", node.name + " is out: cordoned for maintenance"));
    ship.append(sail, berth);
    return ship;
  }
  function updateShip(ship, node) {
    if (ship.dataset.status !== node.status) loopsMayStart = true; // a new ship's bob and smoke, a NotReady lamp
    ship.classList.remove("KubeletReady", "NotReady", "Unknown");
    ship.classList.add(node.status);
    ship.classList.toggle("cordoned", !!node.unschedulable);
    ship.dataset.status = node.status;
    const meta = [node.kubeletVersion, node.architecture].filter(Boolean).join(" · ");
    rewrite(ship.querySelector(".meta"), meta);
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
      if (motion()) step(ship, path([[0, 1400, 0], [1, 0, 0]], 3200, FLYING, bezier(0.2, 0.7, 0.3, 1)), 3200, FLYING, { fill: "backwards" });
      // Pods waiting on the quay for this node climb aboard.
      pods.forEach(function (pod) { if (pod.node === node.name) placeBox(pod); });
    }
    updateShip(ship, node);
    layoutShips();
    updateTally();
    settleShip(ship);
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
      step(ship, [{ transform: "none", opacity: 1, easing: "ease-in" }, { transform: "rotate(8deg) translateY(20px)", opacity: 0.9, offset: 0.25, easing: "ease-in" },
        { transform: "rotate(22deg) translateY(420px)", opacity: 0.2 }], 3500, FLYING);
      later(3600, function () { ship.remove(); });
    } else {
      ship.remove();
    }
    layoutShips();
  }

  // ---------- a drained node: its ship sails out of the harbour, and back in ----------
  // A cordoned node's ship stays at its berth while it still carries containers (a cordon alone
  // moves no pod); once the last is off (`lift`) it sails out of the harbour past the
  // lighthouse (`ship-departs`), leaving its berth's sign; uncordoned, it sails back in
  // (`ship-returns`). The ship's `data-away` is the state the watch says, its class `away` the
  // picture once the voyage is over.
  function settleShip(ship) {
    if (ship.classList.contains("drill")) return;
    const node = nodes.get(ship.dataset.node);
    const away = !!(node && node.unschedulable) && ship.querySelector(".cargo .box:not(.gone)") === null;
    if (away === (ship.dataset.away === "1")) return;
    ship.dataset.away = away ? "1" : "";
    if (!motion()) { ship.classList.toggle("away", away); return; }
    if (away) sailOut(ship, "ship-departs"); else sailIn(ship, "ship-returns");
  }
  // The ship's voyage between its berth and the horizon by the lighthouse, getting smaller and
  // fainter out at sea, as keyframes a step apart (one easing over all of it, as `path`).
  function voyage(ship, outward, ms) {
    const centre = parseFloat(ship.style.left || "0") + parseFloat(ship.style.width || "0") / 2;
    const sea = { x: 1190 - centre, y: -96, scale: 0.3 };
    const steps = Math.max(1, Math.round(ms * FLYING / 1000)), frames = [];
    for (let i = 0; i <= steps; i++) {
      const t = i / steps, p = outward ? EASE_IN(t) : 1 - EASE_OUT(t); // 0 at the berth, 1 at sea
      const faint = Math.min(1, Math.max(0, (p - 0.7) / 0.3)); // fades over the last stretch
      frames.push({ transform: "translate(" + sea.x * p + "px," + sea.y * p + "px) scale(" + (1 - (1 - sea.scale) * p) + ")",
        opacity: Math.max(HIDDEN, 1 - faint) });
    }
    return frames;
  }
  const VOYAGE = 3200;
  // Scene `name` on a ship for `ms`; `done` on the tick after, unless another scene took over.
  function onShip(name, ship, ms, done) {
    ship.dataset.scene = name;
    playing.set(ship, { name: name, kind: "node" });
    later(ms, function () {
      if (ship.dataset.scene !== name) return;
      playing.delete(ship);
      ship.removeAttribute("data-scene");
      done();
    });
  }
  function sailOut(ship, name, done) {
    const sail = ship.querySelector(".sail");
    sail.getAnimations().forEach(function (a) { a.cancel(); });
    ship.classList.add("at-sea"); // behind the other ships, a layer of its own
    step(sail, voyage(ship, true, VOYAGE), VOYAGE, FLYING);
    onShip(name, ship, VOYAGE + 100, function () {
      if (done) { done(); return; }
      if (ship.dataset.away !== "1") return;
      ship.classList.add("away"); // hidden: nothing left to draw
      ship.classList.remove("at-sea");
      sail.getAnimations().forEach(function (a) { a.cancel(); });
    });
  }
  function sailIn(ship, name, done) {
    const sail = ship.querySelector(".sail");
    sail.getAnimations().forEach(function (a) { a.cancel(); });
    ship.classList.remove("away");
    ship.classList.add("at-sea");
    step(sail, voyage(ship, false, VOYAGE), VOYAGE, FLYING);
    onShip(name, ship, VOYAGE + 100, function () {
      ship.classList.remove("at-sea");
      sail.getAnimations().forEach(function (a) { a.cancel(); });
      if (done) done();
    });
  }
  // Staff's preview of a node scene: a grey drill ship in the middle berth, removed afterwards.
  function drillShip() {
    const ship = makeShip({ name: "drill ship" });
    ship.classList.add("drill", "KubeletReady");
    ship.style.left = "440px";
    ship.style.width = "400px";
    fx.appendChild(ship);
    return ship;
  }

  // ---------- containers ----------
  function boxFor(name) { return stage.querySelector('.box[data-pod="' + CSS.escape(name) + '"]:not(.gone)'); }
  function makeBox(pod) {
    const box = el("div", "box");
    box.dataset.pod = pod.name;
    box.style.setProperty("--c", colorOf(pod));
    box.append(el("span", "ord", pod.index !== null && pod.index !== undefined ? String(pod.index) : "?"),
      el("span", "name", pod.name), el("span", "reticle"), el("span", "state"));
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
    if (ship) settleShip(ship);
  }
  // New text only where it changed: a text node replaced is laid out again, and the header's
  // layout is the whole page's.
  function rewrite(e, text) { if (e.textContent !== text) e.textContent = text; }
  // "5 / 5 pods running · 3 / 3 nodes ready": the health of the harbour in one line.
  function updateTally() {
    let running = 0, ready = 0, cordoned = 0;
    pods.forEach(function (p) { if (p.status === "Running") running++; });
    nodes.forEach(function (n) { if (n.status === "KubeletReady") ready++; if (n.unschedulable) cordoned++; });
    const podsEl = document.getElementById("tally-pods"), nodesEl = document.getElementById("tally-nodes");
    rewrite(podsEl, running + " / " + pods.size + " pods running");
    rewrite(nodesEl, ready + " / " + nodes.size + " nodes ready" + (cordoned ? " · " + cordoned + " cordoned" : ""));
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
    if (was !== pod.status) stateLoop(box, pod.status);
    box.style.setProperty("--c", colorOf(pod));
    box.title = pod.name + " · " + pod.status + (pod.node ? " on " + pod.node : "");
    updateTally();
    if (fresh || !old || old.node !== pod.node || old.index !== pod.index) placeBox(pod, box);
    layoutShips();
    if (pod.status === "Terminating" && was !== "Terminating") explodeUnlessCued(box, pod);
    if (pod.status !== "Terminating") box.classList.remove("targeted");
    if (pod.status === "Running" && was !== "Running" && animate) deliver(box);
  }
  // A Pending container's pulse and a Terminating one's flash, on the grid from the tick they
  // start on (not CSS animations: finding new CSS animations to align takes a style update).
  const PULSE = [{ opacity: 1 }, { opacity: 0.15, offset: 0.5 }, { opacity: 1 }];
  const FLASH = [{ opacity: 1, easing: "step-end" }, { opacity: 0, offset: 0.5, easing: "step-end" }, { opacity: 0 }];
  const stateLoops = new WeakMap(); // container -> its loop
  function stateLoop(box, status) {
    const old = stateLoops.get(box);
    if (old) old.cancel();
    stateLoops.delete(box);
    if (reduced.matches || (status !== "Pending" && status !== "Terminating")) return;
    const loop = { iterations: Infinity }, state = box.querySelector(".state");
    if (!state) return;
    stateLoops.set(box, status === "Pending" ? step(state, PULSE, 2000, 2, loop) : step(state, FLASH, 500, 4, loop));
  }
  function removePod(name) {
    pods.delete(name);
    updateTally();
    const box = boxFor(name);
    if (!box) return;
    box.classList.add("gone");
    // A kill's cue is spent with the pod it was for: its successor of the same name is another.
    const killed = cued(name);
    killCues.delete(name);
    if (killed) spent.add(box);
    // Off a ship being drained (an eviction, not a chaos kill): a drone lifts it away, for
    // another ship to take its replacement; the ship leaves once the last one is off.
    const ship = box.closest(".ship");
    if (ship && ship.classList.contains("cordoned") && !killed) {
      box.classList.remove("Terminating"); // gone from the node: what is lifted is the container
      stateLoop(box, "gone");
      if (motion()) lift(box, name); else later(0, function () { box.remove(); updateQuay(); });
      later(motion() ? 1500 : 0, function () { settleShip(ship); });
      return;
    }
    if (!reduced.matches) {
      // It sinks slowly: at the debris' rate (frames they draw anyway), not the strike's.
      step(box, [{ transform: "none", opacity: 1, easing: "ease-in" }, { transform: "translateY(30px) scale(.6) rotate(12deg)", opacity: 0 }], 700, FLYING);
    }
    if (motion()) debris(box, box.style.getPropertyValue("--c"), 10);
    // An endless animation keeps its element alive after it left the page: its loop goes with it.
    later(700, function () { stateLoop(box, "gone"); box.remove(); updateQuay(); layoutShips(); if (ship) settleShip(ship); });
  }

  // ---------- effects ----------
  // Without a GPU, every frame in which something moves costs Chromium's compositor a redraw of
  // all the layers under the union of what moved, every frame has a price of its own, and every
  // change the page's script makes (a commit) redraws the waves and ships whole (docs/dashboard.md,
  // "Where a kill's CPU goes"). So the script writes the page only on the grid's ticks, a kill
  // is built whole when it starts (its blast waits, invisible, in its keyframes), and its motion
  // steps: the strike, the fireball and the reticle at 20 frames a second, debris and the drone
  // at 10, smoke at 5, on one lattice so that their steps share frames. All of it transform and
  // opacity, one animation per element and property, and never from opacity 0: Blink paints
  // nothing for a transparent element and then runs its animation on the main thread.
  // Smoke drifts at half the flying rate (on every other of its frames): it rises slowly, and in
  // the frames between, the one rectangle Chromium redraws leaves out the sky it rises into.
  const SWIFT = 20, FLYING = 10, DRIFTING = 5;
  const HIDDEN = 0.002; // invisible, yet painted and composited

  // A pod killed by the chaos button gets its kill animation from the server's cue; any other
  // deletion (kubectl) explodes plainly once the cue had time to arrive; a pod evicted from a
  // node being drained does not explode at all: it is lifted off once it is gone (`lift`).
  function cued(name) { const at = killCues.get(name); return at !== undefined && Date.now() - at < 15000; }
  const spent = new WeakSet(); // containers whose pod's kill animation played (its cue spent)
  function drained(pod) { const node = pod.node && nodes.get(pod.node); return !!(node && node.unschedulable); }
  function explodeUnlessCued(box, pod) {
    if (cued(pod.name)) return;
    if (reduced.matches) { if (!drained(pod)) explode(box, colorOf(pod)); return; }
    later(900, function () { if (!cued(pod.name) && !spent.has(box) && !drained(pod) && box.isConnected) explode(box, colorOf(pod)); });
  }
  function explode(box, color) {
    if (!animate) return;
    whereNext(box, function (c) {
      const boom = place(el("div", "boom"), c.x, c.y);
      fireball(boom, color, 0);
      fx.appendChild(boom);
      later(3300, function () { boom.remove(); });
    });
  }
  // Fire, four puffs of smoke and debris of the container's colour around `boom`'s origin,
  // `at` ms from now: made now, waiting invisible until then.
  function fireball(boom, color, at) {
    if (!motion()) {
      const fire = boom.appendChild(el("div", "fire")); // reduced motion: a fade
      fire.animate(keys(at + 1200, [[0, { opacity: at ? 0 : 1 }, "step-end"], [at, { opacity: 1 }, "ease"], [at + 1200, { opacity: 0 }]]), { duration: at + 1200, fill: "forwards" });
      return;
    }
    fireAndSmoke(boom, at);
    debrisOf(boom, color, at);
  }
  function fireAndSmoke(boom, at) {
    const fire = el("div", "fire");
    for (let i = 0; i < 4; i++) {
      const s = boom.appendChild(el("div", "smoke"));
      const from = at + 150 + i * 180, still = "translate(0,0) scale(.3)";
      step(s, keys(from + 2600, [[0, { transform: still, opacity: HIDDEN }, "step-end"], [from, { transform: still, opacity: HIDDEN }, "ease-out"],
        [from + 390, { opacity: 0.9 }, "ease-out"], [from + 2600, { transform: "translate(" + rand(-60, 60) + "px,-220px) scale(2.6)", opacity: 0 }]]), from + 2600, DRIFTING);
    }
    boom.appendChild(fire);
    step(fire, keys(at + 900, [[0, { transform: "scale(.1)", opacity: HIDDEN }, "step-end"], [at, { transform: "scale(.1)", opacity: 1 }, "ease-out"],
      [at + 360, { transform: "scale(1.25)", opacity: 1 }, "ease-out"], [at + 900, { transform: "scale(1.6)", opacity: 0 }]]), at + 900, SWIFT);
  }
  function debrisOf(boom, color, at) {
    for (let i = 0; i < 14; i++) boom.appendChild(debrisPiece(color, at));
  }
  // One piece of a container's debris, flung in a random direction `at` ms from now.
  function debrisPiece(color, at) {
    const d = el("div", "debris");
    const angle = rand(0, Math.PI * 2), dist = rand(80, 220);
    d.style.setProperty("--c", color);
    const to = "translate(" + Math.cos(angle) * dist + "px," + (Math.sin(angle) * dist + rand(60, 160)) + "px) rotate(" + rand(-540, 540) + "deg)";
    const still = "translate(0,0) rotate(0)";
    step(d, keys(at + 1400, [[0, { transform: still, opacity: at ? HIDDEN : 1 }, "step-end"], [at, { transform: still, opacity: 1 }, "cubic-bezier(.2,.6,.5,1)"],
      [at + 1400, { transform: to, opacity: 0 }]]), at + 1400, FLYING);
    return d;
  }
  function debris(box, color, count) {
    whereNext(box, function (c) {
      const group = place(el("div", "boom"), c.x, c.y);
      for (let i = 0; i < count; i++) group.appendChild(debrisPiece(color, 0));
      fx.appendChild(group);
      later(1500, function () { group.remove(); });
    });
  }
  // Parsed once; every drone gets a copy (parsing its markup again took a slow core's frame).
  let droneTemplate = null;
  function droneSvg() {
    if (!droneTemplate) droneTemplate = makeDroneSvg();
    return droneTemplate.cloneNode(true);
  }
  function makeDroneSvg() {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "craft");
    svg.setAttribute("viewBox", "0 0 120 44");
    svg.innerHTML =
      '<rect x="8" y="8" width="104" height="6" rx="3" fill="#2b2d42"/>' +
      '<rect x="40" y="12" width="40" height="20" rx="8" fill="#ffb703"/>' +
      '<circle cx="60" cy="22" r="5" fill="#023047"/>' +
      '<rect x="56" y="32" width="8" height="10" fill="#2b2d42"/>';
    return svg;
  }
  // A drone carrying a copy of `box` (measured at `target`) under its cable, in the effects
  // layer; the rotors spin while it flies. `at`: where its top-left corner is when the copy
  // sits exactly on the container.
  function droneWith(box, target) {
    const drone = el("div", "drone");
    const load = box.cloneNode(true);
    load.classList.remove("Pending", "Terminating", "gone", "targeted");
    load.classList.add("load");
    load.removeAttribute("data-pod");
    load.style.width = target.w + "px";
    load.style.height = target.h + "px";
    // The rotors are HTML, not SVG: a transform of an SVG shape is never composited.
    const craft = el("div", "craft-wrap"), cable = el("div", "cable");
    craft.append(droneSvg(), el("div", "rotor left"), el("div", "rotor right"));
    drone.append(craft, cable, load);
    const dw = Math.max(target.w, 120), dh = 44 + 26 + target.h;
    drone.style.width = dw + "px";
    fx.appendChild(drone);
    const rotors = Array.from(craft.querySelectorAll(".rotor"), function (r) {
      return step(r, [{ transform: "scaleX(1)" }, { transform: "scaleX(-1)" }], 267, FLYING, { iterations: Infinity, direction: "alternate" });
    });
    return { drone: drone, cable: cable, load: load, rotors: rotors, at: { x: target.x - dw / 2, y: target.y + target.h / 2 - dh } };
  }
  // The drone's flight is over: its endless rotors stop (they would keep it alive) and it goes.
  // (Asking the drone for its animations would compute the page's style in the middle of a
  // tick's writes.)
  function landed(d) {
    d.rotors.forEach(function (a) { a.cancel(); });
    d.drone.remove();
  }
  // The recreated pod's container is lowered onto its ship by a drone. The container waits
  // invisible in its slot until the drone sets its copy down, then the drone lifts off: one
  // flight, the copy and its cable fading out at the landing, nothing added or removed meanwhile.
  function deliver(box) {
    if (!motion() || !box.isConnected) return;
    whereNext(box, function (target) {
      const d = droneWith(box, target), endX = d.at.x, endY = d.at.y;
      // In from the left, low over the water, then sideways into the slot (never through a
      // stack); released, the drone drops onto the container and climbs away to the right.
      const down = path([[0, endX - 520, endY - 260], [0.6, endX - 240, endY], [1, endX, endY]], 1900, FLYING, EASE_OUT);
      const up = path([[0, endX, endY + target.h + 26], [0.3, endX, endY - 60], [1, endX + 420, -260]], 1400, FLYING, EASE_IN);
      const q = 1000 / FLYING, landing = (down.length - 1) * q, total = (down.length + up.length - 1) * q;
      step(d.drone, down.concat(up), total, FLYING);
      [d.cable, d.load].forEach(function (e) {
        step(e, keys(total, [[0, { opacity: 1 }, "step-end"], [landing, { opacity: 0 }], [total, { opacity: 0 }]]), total, FLYING);
      });
      step(box, keys(landing + q, [[0, { opacity: HIDDEN }, "step-end"], [landing, { opacity: 1 }], [landing + q, { opacity: 1 }]]), landing + q, FLYING, { fill: "backwards" });
      later(total, function () { landed(d); });
    });
  }
  // The other half of a drained node's story (`container-lift`): a container whose pod was
  // evicted from a cordoned node is gone from the watch, so a drone comes down, hooks it and
  // carries it off to the left, while its replacement is scheduled onto another ship (and
  // delivered by a drone when it runs). The container stays in its slot until the drone has
  // it: the drone's copy appears as it goes. `name` is the pod (none for a drill).
  function lift(box, name, done) {
    whereNext(box, function (target) {
      const d = droneWith(box, target), endX = d.at.x, endY = d.at.y;
      d.drone.classList.add("lift");
      d.drone.dataset.scene = "container-lift";
      if (name) d.drone.dataset.victim = name; // not data-pod: that names containers
      playing.set(d.drone, { name: "container-lift", kind: "node" });
      const down = path([[0, endX + 360, -280], [1, endX, endY]], 1200, FLYING, EASE_OUT);
      const up = path([[0, endX, endY], [0.35, endX, endY - 160], [1, endX - 620, -320]], 1600, FLYING, EASE_IN);
      const q = 1000 / FLYING, hooked = (down.length - 1) * q, total = (down.length + up.length - 1) * q;
      step(d.drone, down.concat(up), total, FLYING);
      [d.cable, d.load].forEach(function (e) {
        step(e, keys(total, [[0, { opacity: HIDDEN }, "step-end"], [hooked, { opacity: 1 }], [total, { opacity: 1 }]]), total, FLYING);
      });
      step(box, keys(hooked + q, [[0, { opacity: 1 }, "step-end"], [hooked, { opacity: HIDDEN }], [hooked + q, { opacity: HIDDEN }]]), hooked + q, FLYING);
      later(hooked + q, function () { box.remove(); updateQuay(); layoutShips(); });
      later(total, function () {
        playing.delete(d.drone);
        landed(d);
        if (done) done();
      });
    });
  }
  // A heal as the server measured it (from the kill to the replacement pod Ready, in the watch):
  // one number for the banner, the log and /api/state, whatever this page saw or missed.
  function healed(h) {
    const seconds = Number(h.seconds).toFixed(1);
    showBanner(h.name + " is back: Kubernetes healed it in " + seconds + " s", "#2a9d8f");
    const entry = logEntries.find(function (e) { return e.name === h.name && e.healed === null; });
    if (entry) { entry.healed = seconds; onTick(renderLog); }
  }
  // The harbour log: the last three kills and how long Kubernetes took to heal each.
  function logKill(name) {
    const pod = pods.get(name);
    logEntries.unshift({ name: name, index: pod ? pod.index : null, color: pod ? colorOf(pod) : "#888", at: new Date(), healed: null });
    logEntries.length = Math.min(logEntries.length, 3);
    onTick(function () {
      renderLog();
      if (!motion()) return;
      // Slides in over two ticks.
      const line = logEl.firstChild;
      line.classList.add("fresh");
      afterTicks(1, function () { line.classList.remove("fresh"); });
    });
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
    if (motion()) {
      if (aims.has(box)) aims.get(box).cancel(); // aimed at again
      aims.set(box, step(box.querySelector(".reticle"), [{ transform: "scale(2.4) rotate(90deg)", opacity: HIDDEN, easing: "ease-out" }, { transform: "none", opacity: 1 }], 500, SWIFT));
    }
    later(2500, function () { untarget(box); });
  }
  // The aim ends: the reticle's animation goes with its class, not left filling on the box.
  const aims = new WeakMap(); // box -> its reticle's animation
  function untarget(box) {
    box.classList.remove("targeted");
    const aim = aims.get(box);
    if (aim) { aim.cancel(); aims.delete(box); }
  }

  // ---------- the frame grid ----------
  // The page's slow motion steps on one shared grid: kiosk.css's stepped animations all start
  // together and step every 500 ms (some every 250). Without a GPU every frame costs Chromium a
  // redraw of all it changes, and every change the script makes to the page (a commit of the
  // main thread) redraws the big animated layers, waves and ships, whole. So the script writes
  // the page only on the grid's ticks, for the frame the waves redraw anyway: stream events are
  // handled there, timers (`later`) fire there, and what an effect needs to know of the layout
  // is read first, while it costs nothing (`measureBoxes`, `whereNext`). A write waits at most
  // 500 ms.
  // The writes run in slices: once they have taken `SLICE` ms, the rest goes on in tasks of
  // their own after the tick's frame (`soon`), each computing its own style and layout, so that
  // the frames after it have only painting left. On a slow core a kill's tick (its strike, the
  // log, the banner, a drone) is then a frame and a few short tasks, never one long task that
  // stalls the animations; the few writes of an idle tick all land in the tick's frame.
  // While something steps faster than the grid (a kill, the guard, a drone, a voyage), frames
  // come every 50 or 100 ms anyway: a tick's writes gain nothing from the tick's frame, so they
  // all go after it (`fastUntil`), and a kill's frames only paint. (Its ticks' frames, carrying
  // the log, the tally, the containers' moves and their style and layout, were a kill's last
  // tasks over 50 ms at 4× throttling.)
  const TICK = 500, SLICE = 6;
  let grid0 = null, tickWrites = [], tickPending = false, writing = null;
  let tickAt = null; // the tick the running writes are for
  // The time a write is for: its tick's while a tick's writes run, else now.
  function writeTime() { return tickAt !== null ? tickAt : performance.now(); }
  let framed = false; // they run in the tick's frame
  let fastUntil = 0; // until then, something steps faster than the grid
  function gridOrigin() {
    if (grid0 === null) {
      const wave = document.querySelector(".waves.back");
      const base = wave && wave.getAnimations ? wave.getAnimations()[0] : null;
      if (base && base.startTime === null) return 0; // not started yet: ask again later
      grid0 = base ? base.startTime : 0;
    }
    return grid0;
  }
  // Runs a tick's writes, then the positions asked for by them (all read first, one layout,
  // then the effects that needed them), until there is nothing left; then moves the loops the
  // writes started onto the grid.
  // `tick`: the grid's tick they are for, when sliced: stops once a slice's time is spent and
  // goes on in the next task (`soon`); none when they run at once. `inFrame`: in the tick's
  // frame, which computes the style and layout itself.
  function flushWrites(writes, tick, inFrame) {
    const sliced = tick !== undefined;
    framed = !!inFrame;
    writing = writes;
    tickAt = sliced ? tick : null;
    const start = performance.now();
    let more = false;
    try {
      let i = 0;
      for (;;) {
        while (i < writes.length) {
          guarded(writes[i++]);
          const left = i < writes.length || measures.length > 0;
          // The effects that wait for positions (a scene, a blast, a drone: the heavy writes)
          // never run in the frame.
          const effectsNext = framed && i === writes.length;
          if (sliced && left && (effectsNext || performance.now() - start > SLICE)) {
            more = true;
            writes.splice(0, i);
            soon(function () { flushWrites(writes, tick, false); });
            return;
          }
        }
        if (measures.length === 0) break;
        const batch = measures.splice(0);
        const where = batch.map(function (m) { return m[2] || (m[0].isConnected ? centre(m[0]) : null); });
        batch.forEach(function (m, k) { if (where[k]) guarded(m[1], where[k]); });
      }
      adoptNewLoops();
    } finally {
      writing = null;
      tickAt = null;
      framed = false;
      if (!more) placed = null;
      if (sliced && !inFrame) void document.documentElement.offsetWidth; // this slice's style and layout, now
    }
  }
  // `f` in a task of its own, after what is queued now (a message, not a timer: no clamping).
  const channel = new MessageChannel(), queued = [];
  channel.port1.onmessage = function () { const f = queued.shift(); if (f) f(); };
  function soon(f) { queued.push(f); channel.port2.postMessage(null); }
  // `f` runs at the grid's next tick (after now).
  let tickGen = 0;
  function onNextTick(f) {
    tickWrites.push(f);
    if (tickPending) return;
    tickPending = true;
    // Asked by a tick's writes (in its frame or a slice after it), the next tick is the one
    // after it; the frame of a tick may come a hair before it: asked then, the one after too.
    const gen = ++tickGen, now = writeTime();
    const tick = gridOrigin() + (Math.floor((now - gridOrigin()) / TICK + 0.01) + 1) * TICK;
    // The writes go in the first frame at or after the tick: the one in which the compositor
    // steps what still runs on it on the grid (a scene's slow motion). (A frame a hair before it
    // drew the writes, then that step a frame later: two frames for one tick.)
    function flush(frameTime) {
      if (frameTime < tick) { requestAnimationFrame(flush); return; }
      flushNow(tick);
    }
    // Woken at the tick, so that the frame that shows it is the first one asked for (a frame of
    // the script's own, even an empty one, is a commit: the waves and ships drawn again).
    setTimeout(function () {
      if (gen !== tickGen || !tickPending) return; // written at once meanwhile (the page was hidden)
      measureBoxes();
      requestAnimationFrame(flush);
    }, Math.max(0, tick - performance.now()));
  }
  function flushNow(tick) {
    if (!tickPending) return;
    const writes = tickWrites;
    tickWrites = [];
    tickPending = false;
    if (tick !== undefined && performance.now() < fastUntil) soon(function () { flushWrites(writes, tick, false); });
    else flushWrites(writes, tick, tick !== undefined);
  }
  // A hidden page draws no frames: what waits for a tick is written at once.
  document.addEventListener("visibilitychange", function () { if (document.hidden) flushNow(); });
  // `f` runs with the writes of this tick if they are running, else of the next one; at once
  // while the page is hidden or before its first picture.
  function onTick(f) {
    if (writing) writing.push(f);
    else if (animate && !document.hidden) onNextTick(f);
    else flushWrites([f]);
  }
  // `f` runs `n` ticks after this one (n ≥ 1).
  function afterTicks(n, f) {
    onNextTick(function () { if (n > 1) afterTicks(n - 1, f); else f(); });
  }
  // Loops (CSS animations that repeat forever) of elements drawn after the page's first frame,
  // such as a ship's bob and smoke or a NotReady lamp, start whenever their element is first
  // styled: stepping between the grid's ticks, they would add frames to the idle kiosk. The
  // ones a tick's writes started begin on that tick; the page's first picture's once they have
  // started. Each is adopted once.
  // Adopted, a loop is paused and the grid's ticks step it (`stepLoops`, `currentTime`): left
  // running, the page's loops have the compositor and Chromium's display compositor tick 30 to
  // 60 times a second for pictures that change twice a second, and that ticking was about a
  // third of the idle kiosk's cost (docs/dashboard.md, "A fifth pass"). Paused, nothing ticks
  // between the grid's ticks; the loops still move on the compositor's layers, without a paint.
  const loops = new Map(); // an adopted loop -> its origin (the tick its time 0 is on)
  let loopsMayStart = false; // set by the writes that can start one (a container's or ship's state, night, the storm)
  let stepping = false; // the next tick steps the loops
  function gridTick(t) { return gridOrigin() + Math.round((t - gridOrigin()) / TICK) * TICK; }
  // A loop's time at `tick`: a whole number of ticks and a hair, inside the step that starts on
  // the tick (exactly on it, rounding would put some ticks in the step before: a step repeated,
  // the next one skipped).
  function loopTime(tick, origin) { return Math.round((tick - origin) / TICK) * TICK + 1; }
  function adopt(a, origin) {
    loops.set(a, origin);
    a.pause();
    a.currentTime = loopTime(gridTick(writeTime()), origin);
    stepNextTick();
  }
  function stepNextTick() {
    if (stepping || loops.size === 0) return;
    stepping = true;
    onNextTick(stepLoops);
  }
  function stepLoops() {
    stepping = false;
    const tick = gridTick(writeTime());
    loops.forEach(function (origin, a) {
      if (a.playState === "idle") loops.delete(a); // cancelled: its element gone, or restyled without it
      else a.currentTime = loopTime(tick, origin);
    });
    stepNextTick();
  }
  function newLoops() {
    return document.getAnimations().filter(function (a) {
      return !loops.has(a) && a instanceof CSSAnimation && a.effect.getTiming().iterations === Infinity;
    });
  }
  function adoptNewLoops() {
    if (grid0 === null || !loopsMayStart) return; // the first picture's loops are adopted once they have started
    loopsMayStart = false;
    const tick = gridTick(writeTime());
    newLoops().forEach(function (a) { adopt(a, tick); });
  }
  function adoptFirstLoops() {
    const first = newLoops();
    Promise.allSettled(first.map(function (a) { return a.ready; })).then(function () {
      gridOrigin(); // read from the back waves' start while they run: paused, they have none
      first.forEach(function (a) { if (a.startTime !== null && a.playState !== "idle") adopt(a, gridTick(a.startTime)); });
    });
  }

  // ---------- the theatre ----------
  // Every event of the server's catalogue (/api/scenes, embedded as #scenes) is drawn here under
  // the same name. The element that plays an event carries data-scene="<name>" while it plays and
  // is removed when it ends, so an event that is not playing costs nothing. Ambient events are
  // started by this page at random, one at a time; cameos now and then or by staff; a kill
  // animation when the server's director cues one for a killed pod. Slow motion is stepped on the
  // shared grid of kiosk.css at 4 frames a second; with prefers-reduced-motion nothing plays.
  const CATALOGUE = (function () { try { return JSON.parse(document.getElementById("scenes").textContent); } catch (e) { return []; } })();
  const FAST = new URLSearchParams(location.search).get("theatre") === "fast";
  const skyfx = document.getElementById("skyfx"), seafx = document.getElementById("seafx");
  const playing = new Map(); // element -> { name, kind }
  const killCues = new Map(); // pod -> when its kill animation was cued
  const kindOf = {};
  CATALOGUE.forEach(function (s) { kindOf[s.name] = s.kind; });
  const night = function () { return document.body.classList.contains("night"); };

  // Stepped animations start on the grid of the page's own stepped CSS animations, so they add
  // no frames of their own between the grid's: at a multiple of `quantum` ms from its origin.
  function onGrid(anim, quantum) {
    // Made by a tick's writes (in its frame, or a few slices after it on a slow core), it starts
    // on that tick (rounded down to its quantum: its first step ends a quantum later).
    anim.startTime = gridOrigin() + Math.floor((writeTime() - gridOrigin()) / quantum + 0.02) * quantum;
    return anim;
  }
  // `frames` over about `ms` (a whole number of steps), in `fps` steps a second (4, the grid's
  // rate, unless a motion needs more), aligned to the grid; delays are rounded to a step. A
  // keyframe's own easing still shapes the motion between the steps' positions. Rates above 4
  // divide 20: their steps fall on one 50 ms lattice from the grid's origin and share frames.
  function step(e, frames, ms, fps, options) {
    const quantum = 1000 / (fps || 4);
    const steps = Math.max(1, Math.round(ms / quantum));
    const timing = Object.assign({ easing: "steps(" + steps + ", end)", fill: "both" }, options || {}, { duration: steps * quantum });
    if (timing.delay) timing.delay = Math.round(timing.delay / quantum) * quantum;
    const anim = onGrid(e.animate(frames, timing), Math.min(quantum, TICK));
    // An endless one on the grid (a Pending container's pulse) is stepped by the ticks, as the
    // CSS loops are; faster ones (a Terminating container's flash, a drone's rotors) last seconds.
    if (timing.iterations === Infinity && quantum >= TICK) adopt(anim, anim.startTime);
    // (An endless one, a drone's rotors, goes with a flight that ends.)
    if (quantum < TICK / 2 && timing.iterations !== Infinity) fastUntil = Math.max(fastUntil, anim.startTime + (timing.delay || 0) + timing.duration);
    return anim;
  }
  // A kill's fast motion at 20 steps a second; `options.easing` (default ease-in-out, as in CSS)
  // shapes every stretch between two keyframes that names none of its own.
  function swift(e, frames, ms, options) {
    const timing = Object.assign({}, options || {});
    const easing = timing.easing || "ease-in-out";
    delete timing.easing;
    frames.forEach(function (f, i) { if (!f.easing && i < frames.length - 1) f.easing = easing; });
    return step(e, frames, ms, SWIFT, timing);
  }
  // Keyframes at absolute times over `total` ms: [ms, properties, easing of the stretch that
  // starts there]. One animation per element and property: two (an arrival and a departure,
  // both filling) cannot be composited, and Blink would run them on the main thread.
  function keys(total, list) {
    return list.map(function (k) { return Object.assign({ offset: k[0] / total }, k[1], k[2] ? { easing: k[2] } : {}); });
  }
  // CSS's cubic-bezier(x1, y1, x2, y2) as a function of the time fraction.
  function bezier(x1, y1, x2, y2) {
    const b = function (p1, p2, t) { return 3 * p1 * t * (1 - t) * (1 - t) + 3 * p2 * t * t * (1 - t) + t * t * t; };
    return function (x) {
      let lo = 0, hi = 1, t = x;
      for (let i = 0; i < 24; i++) { t = (lo + hi) / 2; if (b(x1, x2, t) < x) lo = t; else hi = t; }
      return b(y1, y2, t);
    };
  }
  const EASE_OUT = bezier(0, 0, 0.58, 1), EASE_IN = bezier(0.42, 0, 1, 1), EASE_IN_OUT = bezier(0.42, 0, 0.58, 1);
  // Motion through the points [offset, x, y, degrees] with one easing over all of it (what CSS's
  // `easing` of a whole animation does) as keyframes a step apart at `fps`: the smooth motion's
  // positions sampled once a step (a step's easing can only shape the stretch between two
  // keyframes). For `step` over (frames - 1) steps.
  function path(points, ms, fps, ease) {
    const steps = Math.max(1, Math.round(ms * fps / 1000));
    const frames = [];
    for (let i = 0; i <= steps; i++) {
      const p = ease(i / steps);
      let k = 1;
      while (k < points.length - 1 && points[k][0] < p) k++;
      const a = points[k - 1], b = points[k], f = b[0] > a[0] ? Math.min(1, Math.max(0, (p - a[0]) / (b[0] - a[0]))) : 1;
      const v = function (j) { return (a[j] || 0) + ((b[j] || 0) - (a[j] || 0)) * f; };
      frames.push({ transform: "translate(" + v(1) + "px," + v(2) + "px)" + (a.length > 3 ? " rotate(" + v(3) + "deg)" : "") });
    }
    return frames;
  }
  function tr(x, y, extra) { return { transform: "translate(" + x + "px," + y + "px)" + (extra ? " " + extra : "") }; }
  function svgOf(w, h, viewBox, inner, cls) {
    return '<svg ' + (cls ? 'class="' + cls + '" ' : '') + 'width="' + w + '" height="' + h + '" viewBox="' + viewBox + '" overflow="visible">' + inner + '</svg>';
  }
  // A new element playing `name` in `layer`, ended after `ms`.
  function begin(name, layer, ms, cls) {
    const root = el("div", "scene " + (cls || name));
    root.dataset.scene = name;
    layer.appendChild(root);
    playing.set(root, { name: name, kind: kindOf[name] });
    later(ms, function () { end(root); });
    return root;
  }
  function end(root) {
    if (!playing.has(root)) return;
    playing.delete(root);
    if (root.dataset.keep) { root.removeAttribute("data-scene"); root.getAnimations({ subtree: true }).forEach(function (a) { a.cancel(); }); }
    else root.remove();
  }
  // An element of the page itself (the crane) plays `name` for `ms`.
  function borrow(name, root, ms) {
    root.dataset.scene = name;
    root.dataset.keep = "1";
    playing.set(root, { name: name, kind: kindOf[name] });
    later(ms, function () { end(root); });
    return root;
  }
  function place(e, x, y) { e.style.left = x + "px"; e.style.top = y + "px"; return e; }

  const GULL = '<path d="M2 14 Q18 0 35 16 Q52 0 68 14 Q52 8 35 24 Q18 8 2 14Z"/>';
  const WHEEL = '<circle r="15" fill="none" stroke="currentColor" stroke-width="4"/><circle r="4" fill="currentColor"/>' +
    [0, 45, 90, 135].map(function (a) { return '<path d="M0 -20V20" stroke="currentColor" stroke-width="3" transform="rotate(' + a + ')"/>'; }).join("");

  const ambient = {
    seagulls: function () {
      const root = begin("seagulls", skyfx, 17000);
      for (let i = 0; i < 8; i++) {
        const g = place(el("div", "gull"), -140, rand(140, 300));
        const size = rand(0.6, 1.15);
        g.innerHTML = svgOf(90 * size, 40 * size, "0 0 70 30", GULL);
        root.appendChild(g);
        const delay = rand(0, 3000), dy = rand(-90, 50);
        step(g, [tr(0, 0), tr(1500, dy)], 13000, 4, { delay: delay });
        step(g.firstChild, [{ transform: "scaleY(1)" }, { transform: "scaleY(-.45)" }], 500, 4, { iterations: 30, direction: "alternate" });
      }
    },
    whale: function () {
      const root = place(begin("whale", seafx, 10000), 430, 560);
      root.innerHTML = '<div class="body">' + '<div class="spout"></div>' + svgOf(300, 150, "0 0 300 150",
        '<path d="M10 110 Q40 30 150 40 Q250 48 272 96 L298 70 Q300 108 276 118 Q250 150 150 146 Q40 144 10 110Z" fill="#335c81"/>' +
        '<path d="M30 118 Q90 140 170 136 Q230 132 262 112 Q230 146 150 146 Q60 144 30 118Z" fill="#cfe3f3"/>' +
        '<circle cx="72" cy="84" r="6" fill="#0b1b2b"/><path d="M120 96 Q140 112 160 96" stroke="#0b1b2b" stroke-width="4" fill="none"/>') + '</div>' +
        svgOf(300, 56, "0 0 300 56", '<path d="M0 14 Q37 0 75 14 T150 14 T225 14 T300 14 V56 H0z" fill="#114f86"/>' +
          '<path d="M0 14 Q37 0 75 14 T150 14 T225 14 T300 14" fill="none" stroke="#fff" stroke-opacity=".6" stroke-width="3"/>', "water");
      step(root.querySelector(".body"), [tr(0, 160), tr(0, 0, ""), tr(0, 0), tr(0, 170)].map(function (f, i) { f.offset = [0, 0.2, 0.75, 1][i]; return f; }), 9500, 4);
      step(root.querySelector(".spout"), [{ transform: "scaleY(.1)", opacity: HIDDEN }, { transform: "scaleY(1.2)", opacity: 1, offset: 0.3 }, { transform: "scaleY(1.4) translateY(-20px)", opacity: 0 }], 2000, 4, { delay: 2000, iterations: 3 });
    },
    sailboat: function () {
      const root = place(begin("sailboat", seafx, 26000), 1300, 612);
      root.innerHTML = svgOf(110, 120, "0 0 110 120",
        '<path d="M52 6V96" stroke="#5b4636" stroke-width="4"/><path d="M56 10 Q96 52 100 88 H56z" fill="#fdfdfd" stroke="#c9d3dd" stroke-width="2"/>' +
        '<path d="M48 22 Q22 60 14 88 H48z" fill="#ffd34d"/><path d="M4 94 H108 L96 114 H16z" fill="#1d4e89"/><path d="M10 100 H102" stroke="#fff" stroke-width="3"/>');
      step(root, [tr(0, 0, "rotate(0)"), tr(-760, 0, "rotate(-2deg)"), tr(-1480, 0, "rotate(1deg)")], 25000, 4);
    },
    "pilot-boat": function () {
      const root = place(begin("pilot-boat", seafx, 15000, "pilot-boat"), -220, 660);
      root.innerHTML = '<div class="wake"></div>' + svgOf(150, 62, "0 0 150 62",
        '<rect x="40" y="6" width="52" height="26" rx="4" fill="#fff"/><rect x="48" y="11" width="36" height="9" rx="2" fill="#33475b"/>' +
        '<path d="M0 30 H150 L130 58 H14z" fill="#fb5607"/><path d="M4 38 H146" stroke="#fff" stroke-width="4"/><text x="72" y="54" font-size="12" font-weight="700" fill="#fff" text-anchor="middle">PILOT</text>');
      step(root, [tr(0, 0), tr(1560, -6)], 14000, 4);
    },
    seaplane: function () {
      const root = place(begin("seaplane", skyfx, 22000), -620, 186);
      root.innerHTML = '<div class="banner">kubectl get pods --watch</div><div class="rope"></div>' + svgOf(130, 56, "0 0 130 56",
        '<path d="M6 22 Q12 14 40 14 H104 Q122 16 124 24 Q120 32 104 32 H24z" fill="#e63946"/><rect x="46" y="6" width="50" height="6" rx="3" fill="#1d2d44"/>' +
        '<path d="M96 16 h14 v8 h-14z" fill="#bfe3ff"/><path d="M10 24 L0 12 h8 l12 10z" fill="#1d2d44"/><path d="M40 32 L34 46 M86 32 L92 46" stroke="#1d2d44" stroke-width="3"/>' +
        '<rect x="22" y="44" width="80" height="7" rx="3.5" fill="#f3f5f7"/><rect class="prop" x="124" y="12" width="3" height="24" fill="#1d2d44"/>');
      step(root, [tr(0, 0), tr(1000, -20), tr(2000, 10)], 21000, 4);
    },
    dolphins: function () {
      const root = begin("dolphins", seafx, 7500);
      for (let i = 0; i < 3; i++) {
        const d = place(el("div", "dolphin"), 520 + i * 70, 640);
        d.innerHTML = svgOf(96, 44, "0 0 96 44", '<path d="M2 30 Q24 4 62 10 Q80 12 92 20 L84 24 Q70 22 66 26 L74 40 L58 30 Q30 32 14 38 L4 44 L8 34z" fill="#5c7c99"/><circle cx="80" cy="17" r="2.2" fill="#0b1b2b"/><path d="M40 10 L48 0 L54 12z" fill="#5c7c99"/>');
        root.appendChild(d);
        step(d, [tr(0, 80, "rotate(-35deg)"), tr(70, -60, "rotate(0)"), tr(150, 80, "rotate(40deg)")], 1500, 4, { delay: 600 + i * 450, iterations: 2, endDelay: 1250 });
      }
    },
    balloon: function () {
      const root = place(begin("balloon", skyfx, 24000), 940, 330);
      root.innerHTML = svgOf(90, 130, "-45 -50 90 130",
        '<path d="M0 -48 C36 -48 44 -10 26 14 L10 34 H-10 L-26 14 C-44 -10 -36 -48 0 -48z" fill="#326ce5"/>' +
        '<path d="M0 -48 C12 -40 14 -10 8 34 M0 -48 C-12 -40 -14 -10 -8 34" stroke="#fff" stroke-width="3" fill="none"/>' +
        '<g transform="translate(0 -14) scale(.9)" color="#fff">' + WHEEL + '</g>' +
        '<path d="M-10 34 L-8 54 M10 34 L8 54" stroke="#5b4636" stroke-width="2"/><rect x="-11" y="54" width="22" height="16" rx="3" fill="#8d6e4f"/>');
      step(root, [tr(0, 0), tr(-160, -120), tr(-300, -190)], 23000, 4);
    },
    "crane-hoist": function () {
      const crane = document.getElementById("crane-a");
      borrow("crane-hoist", crane, 12000);
      const trolley = crane.querySelector(".trolley");
      step(trolley, [tr(0, 0), tr(-90, 0, ""), tr(-90, 0), tr(0, 0)].map(function (f, i) { f.offset = [0, 0.3, 0.7, 1][i]; return f; }), 11000, 4);
      const crate = document.createElementNS(SVG, "rect");
      crate.setAttribute("class", "crate");
      crate.setAttribute("x", "298"); crate.setAttribute("y", "344"); crate.setAttribute("width", "26"); crate.setAttribute("height", "14");
      trolley.appendChild(crate);
      step(crate, [{ opacity: 0 }, { opacity: 0, offset: 0.3 }, { opacity: 1, offset: 0.32 }, { opacity: 1 }], 11000, 4);
      later(12000, function () { crate.remove(); });
    },
    rainbow: function () {
      const root = place(begin("rainbow", skyfx, 14000), 250, 150);
      root.innerHTML = svgOf(780, 330, "0 0 780 330", ["#ff595e", "#ff924c", "#ffca3a", "#8ac926", "#1982c4", "#6a4c93"].map(function (c, i) {
        const r = 380 - i * 14;
        return '<path d="M' + (390 - r) + ' 330 A' + r + ' ' + r + ' 0 0 1 ' + (390 + r) + ' 330" fill="none" stroke="' + c + '" stroke-width="14"/>';
      }).join(""));
      step(root, [{ opacity: HIDDEN }, { opacity: 0.55, offset: 0.25 }, { opacity: 0.55, offset: 0.75 }, { opacity: 0 }], 13000, 4);
    },
    bottle: function () {
      const root = place(begin("bottle", seafx, 20000), 1300, 700);
      root.innerHTML = svgOf(70, 34, "0 0 70 34", '<path d="M6 8 H44 Q52 8 56 13 H66 V21 H56 Q52 26 44 26 H6 Q2 26 2 17 Q2 8 6 8z" fill="#6bbf8e" fill-opacity=".85" stroke="#2a6f4f" stroke-width="2"/>' +
        '<rect x="64" y="12" width="5" height="10" fill="#8d6e4f"/><rect x="12" y="12" width="28" height="10" rx="2" fill="#f4ecd8"/>');
      step(root, [tr(0, 0, "rotate(-8deg)"), tr(-500, 6, "rotate(10deg)"), tr(-1000, -2, "rotate(-8deg)"), tr(-1450, 6, "rotate(8deg)")], 19000, 4);
    },
    jet: function () {
      const root = place(begin("jet", skyfx, 18000), -140, 150);
      root.innerHTML = '<div class="trail"></div>' + svgOf(70, 24, "0 0 70 24", '<path d="M2 12 Q6 8 20 8 H58 Q68 10 68 12 Q68 14 58 16 H20 Q6 16 2 12z" fill="#e9eef3"/><path d="M30 10 L18 0 H26 L42 10z M30 14 L18 24 H26 L42 14z M6 11 L0 4 H5 L12 10z" fill="#c9d3dd"/>');
      step(root, [tr(0, 0), tr(1600, 40)], 17000, 4);
    },
    kayak: function () {
      const root = place(begin("kayak", seafx, 20000), 1300, 720);
      root.innerHTML = svgOf(120, 60, "0 0 120 60", '<path d="M2 44 Q60 34 118 44 Q60 54 2 44z" fill="#ffca3a"/><circle cx="60" cy="22" r="7" fill="#f1c27d"/><path d="M54 16 h12 v-3 h-12z" fill="#e63946"/>' +
        '<path d="M52 42 V30 Q60 26 68 30 V42z" fill="#e63946"/><path class="paddle" d="M26 16 L94 44" stroke="#5b4636" stroke-width="3"/><path d="M20 12 l10 2 -4 6z M90 42 l10 6 -10 0z" fill="#1d4e89"/>');
      step(root, [tr(0, 0), tr(-1460, 0)], 19000, 4);
      step(root.querySelector(".paddle"), [{ transform: "rotate(-14deg)" }, { transform: "rotate(14deg)" }], 1000, 4, { iterations: 19, direction: "alternate" });
    },
  };

  const cameos = {
    storm: function () {
      const root = begin("storm", fx, 12000, "storm-scene");
      const dark = el("div", "storm-dark"), shower = el("div", "shower"), rain = el("div", "rain"), lightning = el("div", "lightning");
      shower.appendChild(rain);
      root.append(dark, shower, lightning);
      // Full-screen layers: they change on the grid's 250 ms ticks only.
      [dark, shower].forEach(function (e) {
        step(e, keys(12000, [[0, { opacity: HIDDEN }], [1250, { opacity: 1 }], [10250, { opacity: 1 }], [12000, { opacity: 0 }]]), 12000, 4);
      });
      step(rain, [{ transform: "translate(0,0)" }, { transform: "translate(-60px,400px)" }], 500, 4, { iterations: 24 });
      step(lightning, keys(4000, [[0, { opacity: HIDDEN }, "step-end"], [250, { opacity: 0.85 }, "step-end"], [500, { opacity: HIDDEN }, "step-end"],
        [750, { opacity: 0.6 }, "step-end"], [1000, { opacity: HIDDEN }], [4000, { opacity: HIDDEN }]]), 4000, 4, { delay: 750, iterations: 3 });
      document.body.classList.add("storm");
      loopsMayStart = true; // the ships' roll
      showBanner("Storm warning! Will the cluster hold?", "#33415c");
      later(12000, function () { document.body.classList.remove("storm"); loopsMayStart = true; });
    },
    fireworks: function () {
      const root = begin("fireworks", fx, 10500);
      const colors = ["#ff595e", "#ffca3a", "#8ac926", "#1982c4", "#ff9ff3", "#ffffff", "#fb5607"];
      for (let b = 0; b < 12; b++) {
        later(b * 650 + rand(0, 300), function () {
          if (!root.isConnected) return;
          const burst = place(el("div", "burst"), rand(120, 1160), rand(130, 330));
          const color = colors[Math.floor(rand(0, colors.length))];
          for (let i = 0; i < 26; i++) {
            const s = burst.appendChild(el("div", "spark"));
            const a = (i / 26) * Math.PI * 2, r = rand(120, 190);
            s.style.setProperty("--c", color);
            step(s, [{ transform: "translate(0,0) scale(1)", opacity: 1, easing: "cubic-bezier(.1,.7,.3,1)" }, { opacity: 1, offset: 0.8 },
              { transform: "translate(" + Math.cos(a) * r + "px," + (Math.sin(a) * r + 40) + "px) scale(.3)", opacity: 0 }], 1600, FLYING);
          }
          root.appendChild(burst);
          later(2200, function () { burst.remove(); });
        });
      }
      showBanner("Thank you for visiting our booth!", "#6d597a");
    },
    submarine: function () {
      const root = place(begin("submarine", seafx, 13000), 520, 640);
      root.innerHTML = '<div class="hull-wrap">' + svgOf(240, 110, "0 0 240 110",
        '<path class="periscope" d="M128 38 V4 H146 V10 H134 V38z" fill="#2b2d42"/><rect x="96" y="30" width="52" height="30" rx="8" fill="#ffca3a"/>' +
        '<path d="M20 60 Q20 44 60 44 H196 Q228 46 232 64 Q228 82 196 84 H60 Q20 82 20 70z" fill="#ffca3a"/>' +
        '<circle cx="80" cy="64" r="7" fill="#bfe3ff" stroke="#2b2d42" stroke-width="3"/><circle cx="112" cy="64" r="7" fill="#bfe3ff" stroke="#2b2d42" stroke-width="3"/><circle cx="144" cy="64" r="7" fill="#bfe3ff" stroke="#2b2d42" stroke-width="3"/>' +
        '<path d="M8 52 L22 64 L8 76z" fill="#2b2d42"/>') + '</div>' +
        svgOf(260, 40, "0 0 260 40", '<path d="M0 12 Q32 0 65 12 T130 12 T195 12 T260 12 V40 H0z" fill="#114f86"/>', "water");
      step(root.querySelector(".hull-wrap"), [tr(0, 110), tr(0, 0, ""), tr(30, 0), tr(60, 110)].map(function (f, i) { f.offset = [0, 0.2, 0.8, 1][i]; return f; }), 12500, 4);
      step(root.querySelector(".periscope"), [{ transform: "translateY(30px)" }, { transform: "translateY(0)", offset: 0.3 }, { transform: "translateY(0)", offset: 0.7 }, { transform: "translateY(30px)" }], 12500, 4);
    },
    zeppelin: function () {
      const root = place(begin("zeppelin", skyfx, 30000), 1300, 170);
      root.innerHTML = svgOf(300, 100, "0 0 300 100",
        '<ellipse cx="150" cy="42" rx="140" ry="38" fill="#cfd8e3"/><path d="M20 42 H280" stroke="#9aa8b6" stroke-width="2"/><path d="M60 14 Q150 4 240 14 M60 70 Q150 80 240 70" stroke="#9aa8b6" stroke-width="2" fill="none"/>' +
        '<path d="M270 30 L298 10 V74 L270 54z" fill="#326ce5"/><rect x="120" y="78" width="64" height="16" rx="5" fill="#1d2d44"/>' +
        '<g transform="translate(110 42)" color="#326ce5">' + WHEEL + '</g><text x="190" y="50" font-size="22" font-weight="800" fill="#326ce5" text-anchor="middle">k8s</text>');
      step(root, [tr(0, 0), tr(-900, 12), tr(-1650, 0)], 29000, 4);
    },
    aurora: function () {
      const root = begin("aurora", skyfx, 16000);
      for (let i = 0; i < 3; i++) {
        const band = place(el("div", "band b" + i), 80 + i * 360, 120);
        root.appendChild(band);
        step(band, [{ opacity: HIDDEN, transform: "scaleY(.6) skewX(0)" }, { opacity: 0.8, transform: "scaleY(1) skewX(-12deg)", offset: 0.3 },
          { opacity: 0.6, transform: "scaleY(.8) skewX(10deg)", offset: 0.7 }, { opacity: 0, transform: "scaleY(.6) skewX(0)" }], 15000, 4, { delay: i * 500 });
      }
    },
    penguins: function () {
      const root = begin("penguins", seafx, 20000);
      for (let i = 0; i < 5; i++) {
        const p = place(el("div", "penguin"), -60 - i * 56, 718);
        p.innerHTML = svgOf(40, 56, "0 0 40 56", '<ellipse cx="20" cy="32" rx="16" ry="22" fill="#1d2d44"/><ellipse cx="20" cy="36" rx="10" ry="16" fill="#fff"/>' +
          '<circle cx="15" cy="16" r="2.5" fill="#fff"/><circle cx="25" cy="16" r="2.5" fill="#fff"/><path d="M16 22 L24 22 L20 28z" fill="#fb8500"/><path d="M10 52 h8 v4 h-8z M22 52 h8 v4 h-8z" fill="#fb8500"/>');
        root.appendChild(p);
        step(p, [tr(0, 0), tr(1500, 0)], 18000, 4);
        step(p.firstChild, [{ transform: "rotate(-8deg)" }, { transform: "rotate(8deg)" }], 500, 4, { iterations: 36, direction: "alternate" });
      }
    },
    rocket: function () {
      const root = place(begin("rocket", skyfx, 9000), 880, 420);
      root.innerHTML = '<div class="exhaust"></div>' + svgOf(40, 110, "0 0 40 110", '<path d="M20 0 Q36 22 34 70 H6 Q4 22 20 0z" fill="#f3f5f7"/><circle cx="20" cy="36" r="7" fill="#326ce5"/>' +
        '<path d="M6 56 L0 84 L8 76z M34 56 L40 84 L32 76z" fill="#e63946"/><rect x="10" y="70" width="20" height="8" fill="#2b2d42"/>');
      step(root, path([[0, 0, 0, 0], [0.15, 0, -20, 0], [1, 60, -620, 8]], 8500, FLYING, EASE_IN), 8500, FLYING);
    },
    "ghost-ship": function () {
      const root = place(begin("ghost-ship", seafx, 24000), 1300, 560);
      // Its glow is drawn once with the picture, not filtered in every frame it moves.
      root.innerHTML = svgOf(260, 210, "0 0 260 210",
        '<defs><filter id="ghost-glow" x="-20%" y="-20%" width="140%" height="140%"><feDropShadow dx="0" dy="0" stdDeviation="6" flood-color="#7fffd4" flood-opacity=".6"/></filter></defs><g filter="url(#ghost-glow)">' +
        '<path d="M70 20 V160 M150 10 V160" stroke="#dfe9f3" stroke-width="5"/>' +
        '<path d="M74 26 Q118 40 112 70 L120 84 Q100 96 114 120 H74z M154 18 Q206 34 198 70 L208 90 Q190 104 204 134 H154z" fill="#e8f1fa"/>' +
        '<path d="M10 150 H250 L226 196 H34z" fill="#b9c8d6"/><circle cx="80" cy="170" r="6" fill="#7fffd4"/><circle cx="120" cy="170" r="6" fill="#7fffd4"/><circle cx="160" cy="170" r="6" fill="#7fffd4"/></g>');
      step(root, [{ transform: "translate(0,0)", opacity: HIDDEN }, { opacity: 0.6, offset: 0.15 }, { opacity: 0.6, offset: 0.8 }, { transform: "translate(-1000px,10px)", opacity: 0 }], 23000, 4);
    },
  };

  // ---------- kill animations: decoration over the killed pod's container ----------
  // The container's state is only ever what the stream says (Terminating, gone, back); these
  // animations play over it and end on their own. Each is built whole when it starts (parts
  // wait in their keyframes), its strike steps at 20 frames a second, and every element has one
  // animation per property (see `keys`), so the compositor runs all of it.
  // The blast `ms` into the animation: its fire and smoke made on the tick before the last one
  // before it goes off (the kill's second at the earliest), its debris on that last one, each
  // waiting in its keyframes for the rest, so that a kill's elements are made over three ticks,
  // not one (a frame's work stays short on a slow core: no task over 50 ms at 4× throttling).
  function blast(root, color, ms) {
    const ticks = Math.floor(ms / TICK), boom = el("div", "boom");
    if (ticks === 0) { fireball(root.appendChild(boom), color, ms); return; }
    const on = function (tick, make) {
      later(tick * TICK - TICK / 2, function () { if (root.isConnected) make(ms - tick * TICK); });
    };
    on(Math.max(1, ticks - 1), function (wait) { fireAndSmoke(root.appendChild(boom), wait); });
    on(ticks, function (wait) { debrisOf(boom, color, wait); });
  }
  function part(root, cls, html) { const e = el("div", cls); if (html) e.innerHTML = html; root.appendChild(e); return e; }
  const kills = {
    torpedo: function (root, t) {
      const fish = part(root, "torpedo", svgOf(90, 20, "0 0 90 20", '<path d="M8 2 H74 Q88 4 88 10 Q88 16 74 18 H8z" fill="#5c6b7a"/><path d="M8 0 L0 4 V16 L8 20z" fill="#2b2d42"/><rect x="70" y="4" width="6" height="12" fill="#e63946"/>'));
      const lane = Math.min(t.h / 2 + 110, 745 - t.y); // the water line under the container
      swift(fish, keys(1400, [[0, Object.assign(tr(-700, lane), { opacity: 1 })], [1300, Object.assign(tr(-60, lane), { opacity: 1 })],
        [1400, Object.assign(tr(-60, lane), { opacity: 0 })]]), 1400, { easing: "linear" });
      const spray = part(root, "spray");
      swift(spray, [{ transform: "scaleY(0)", opacity: 1 }, { transform: "scaleY(1)", opacity: 1, offset: 0.5 }, { transform: "scaleY(1.1)", opacity: 0 }], 1200, { delay: 1300 });
      blast(root, t.color, 1450);
      return 4200;
    },
    meteor: function (root, t) {
      const rock = part(root, "meteor", '<div class="tail"></div><div class="rock"></div>');
      swift(rock, keys(1180, [[0, Object.assign(tr(520, -620), { opacity: 1 }), "ease-in"], [1100, Object.assign(tr(0, 0), { opacity: 1 })],
        [1180, Object.assign(tr(0, 0), { opacity: 0 })]]), 1180, { easing: "linear" });
      blast(root, t.color, 1100);
      return 3900;
    },
    tentacle: function (root, t) {
      const arm = part(root, "tentacle", svgOf(120, 320, "0 0 120 320", '<path d="M60 320 C10 250 110 190 70 120 C40 70 40 20 80 10 C100 6 110 24 96 34 C80 44 66 30 76 24" fill="none" stroke="#8e44ad" stroke-width="26" stroke-linecap="round"/>' +
        '<g fill="#f5b7ff">' + [250, 210, 170, 130, 90, 55].map(function (y, i) { return '<circle cx="' + [48, 88, 72, 58, 50, 72][i] + '" cy="' + y + '" r="5"/>'; }).join("") + '</g>'));
      step(arm, path([[0, 60, 420, 20], [0.3, 60, 40, -10], [0.45, 40, -60, -30], [0.55, -30, -20, 10], [1, 40, 420, 20]], 3200, SWIFT, EASE_IN_OUT), 3200, SWIFT);
      blast(root, t.color, 1750);
      return 4300;
    },
    "orbital-laser": function (root, t) {
      const sat = part(root, "satellite", svgOf(90, 40, "0 0 90 40", '<rect x="0" y="12" width="30" height="16" fill="#326ce5"/><rect x="60" y="12" width="30" height="16" fill="#326ce5"/><rect x="32" y="8" width="26" height="24" rx="4" fill="#cfd8e3"/><path d="M45 32 V40" stroke="#e63946" stroke-width="4"/>'));
      swift(sat, keys(3100, [[0, tr(-300, -t.y + 40), "ease-out"], [900, tr(-45, -t.y + 40)], [2200, tr(-45, -t.y + 40), "ease-in"], [3100, tr(400, -t.y + 10)]]), 3100, { easing: "linear" });
      const dot = part(root, "laser-dot");
      swift(dot, keys(1400, [[0, { opacity: HIDDEN, transform: "scale(3)" }], [500, { opacity: HIDDEN, transform: "scale(3)" }, "ease-in-out"], [1000, { opacity: 1, transform: "scale(1)" }],
        [1300, { opacity: 1, transform: "scale(1)" }, "ease-in-out"], [1400, { opacity: 0, transform: "scale(1)" }]]), 1400, { easing: "linear" });
      const beam = part(root, "laser-beam");
      beam.style.height = (t.y - 80) + "px";
      swift(beam, [{ transform: "scaleX(0)", opacity: 1 }, { transform: "scaleX(1)", opacity: 1, offset: 0.2 }, { transform: "scaleX(1.6)", opacity: 1, offset: 0.6 }, { transform: "scaleX(0)", opacity: 0 }], 900, { delay: 1100 });
      blast(root, t.color, 1300);
      return 4000;
    },
    ufo: function (root, t) {
      const saucer = part(root, "saucer", '<div class="tractor"></div>' + svgOf(130, 56, "0 0 130 56", '<ellipse cx="65" cy="22" rx="28" ry="20" fill="#bfe3ff" fill-opacity=".9"/><ellipse cx="65" cy="34" rx="62" ry="14" fill="#8d99ae"/>' +
        '<circle cx="25" cy="36" r="4" fill="#8ac926"/><circle cx="50" cy="40" r="4" fill="#ffca3a"/><circle cx="80" cy="40" r="4" fill="#8ac926"/><circle cx="105" cy="36" r="4" fill="#ffca3a"/><circle cx="65" cy="16" r="6" fill="#43aa8b"/>'));
      const hover = tr(-65, -t.h / 2 - 150);
      swift(saucer, keys(3200, [[0, tr(-800, -220), "ease-out"], [1000, hover], [2300, hover, "ease-in"], [3200, tr(600, -520)]]), 3200, { easing: "linear" });
      const tractor = saucer.querySelector(".tractor");
      swift(tractor, keys(2000, [[0, { opacity: HIDDEN, transform: "scaleY(0)" }], [1000, { opacity: HIDDEN, transform: "scaleY(0)" }, "ease-in-out"], [1400, { opacity: 0.8, transform: "scaleY(1)" }],
        [1800, { opacity: 0.8, transform: "scaleY(1)" }, "ease-in-out"], [2000, { opacity: 0, transform: "scaleY(1)" }]]), 2000, { easing: "linear" });
      const zap = part(root, "zap");
      swift(zap, [{ opacity: HIDDEN }, { opacity: 1 }, { opacity: 0 }, { opacity: 1 }, { opacity: 0 }], 300, { delay: 1500 });
      blast(root, t.color, 1700);
      return 4400;
    },
    dynamite: function (root, t) {
      const tnt = part(root, "tnt", svgOf(70, 70, "0 0 70 70", '<rect x="6" y="30" width="16" height="38" rx="3" fill="#c0392b"/><rect x="26" y="30" width="16" height="38" rx="3" fill="#c0392b"/><rect x="46" y="30" width="16" height="38" rx="3" fill="#c0392b"/>' +
        '<rect x="2" y="44" width="64" height="10" fill="#2b2d42"/><text x="34" y="52.5" font-size="9" font-weight="800" fill="#ffca3a" text-anchor="middle">TNT</text><path class="fuse" d="M34 30 Q30 14 44 8 Q54 4 56 0" fill="none" stroke="#5b4636" stroke-width="3"/>'));
      place(tnt, -35, -t.h / 2 - 62);
      swift(tnt, keys(1560, [[0, { transform: "translateY(-40px)", opacity: HIDDEN }, "ease-out"], [300, { transform: "translateY(0)", opacity: 1 }],
        [1500, { transform: "translateY(0)", opacity: 1 }], [1560, { transform: "translateY(0)", opacity: 0 }]]), 1560, { easing: "linear" });
      const spark = part(root, "fuse-spark");
      place(spark, 14, -t.h / 2 - 70);
      // The spark creeps down the fuse (30 px in 1.2 s): the flying rate is smooth enough.
      step(spark, keys(1560, [[0, Object.assign(tr(0, 0), { opacity: 1 }), "linear"], [300, Object.assign(tr(0, 0), { opacity: 1 }), "linear"], [1500, Object.assign(tr(-12, 28), { opacity: 1 }), "linear"],
        [1560, Object.assign(tr(-12, 28), { opacity: 0 })]]), 1560, FLYING);
      blast(root, t.color, 1500);
      return 4200;
    },
    anvil: function (root, t) {
      const anvil = part(root, "anvil", svgOf(110, 62, "0 0 110 62", '<path d="M0 4 H80 Q104 6 108 18 Q84 18 78 24 V36 H60 L70 52 H86 V62 H24 V52 H40 L50 36 H30 Q8 30 0 4z" fill="#3d4450"/><path d="M0 4 H80 Q104 6 108 18" fill="none" stroke="#8a99a8" stroke-width="3"/><text x="56" y="16" font-size="11" font-weight="800" fill="#cfd8e3" text-anchor="middle">ACME</text>'));
      place(anvil, -55, -t.h / 2 - 62);
      swift(anvil, keys(2100, [[0, Object.assign(tr(0, -700), { opacity: 1 }), "cubic-bezier(.5,0,1,1)"], [900, Object.assign(tr(0, 0), { opacity: 1 })],
        [1700, Object.assign(tr(0, 0), { opacity: 1 }), "ease-in-out"], [2100, Object.assign(tr(0, 0), { opacity: 0 })]]), 2100, { easing: "linear" });
      const clang = part(root, "clang", "CLANG!");
      swift(clang, [{ opacity: HIDDEN, transform: "scale(.3) rotate(-10deg)" }, { opacity: 1, transform: "scale(1.15) rotate(-6deg)", offset: 0.3 }, { opacity: 1, transform: "scale(1) rotate(-6deg)", offset: 0.8 }, { opacity: 0, transform: "scale(1) rotate(-6deg)" }], 1400, { delay: 900 });
      blast(root, t.color, 950);
      return 4000;
    },
  };

  // ---------- the guard: the disruption budget held ----------
  // Played over the container of a pod whose eviction the budget refused (the `chaos` event's
  // `refused`): a shield springs up around it, a ring rings out, and a plaque over it says
  // "Kubernetes said no" and which budget held with its numbers (near the action, rather than
  // the banner at the top: a frame of the whole screen). The pop and the ring are quick (20
  // steps a second, half a second); then the shield stands still and only fades away on the
  // grid's 4 steps a second, so the seconds it is shown cost no frames. Its glow is in its
  // gradients, no filter.
  const SHIELD = svgOf(40, 46, "0 0 40 46", '<path d="M20 2 L37 8 V22 Q37 36 20 44 Q3 36 3 22 V8z" fill="#326ce5" stroke="#fff" stroke-width="3"/>' +
    '<path d="M12 23 L18 29 L29 16" fill="none" stroke="#fff" stroke-width="4" stroke-linecap="round" stroke-linejoin="round"/>');
  const guards = {
    shield: function (root, t, budget) {
      const w = Math.max(t.w + 44, 140), h = t.h + 56, ms = 3000;
      const pop = part(root, "dome-pop"), dome = el("div", "dome"), ring = part(root, "ring");
      pop.appendChild(dome);
      place(pop, -w / 2, -h / 2 - 12);
      pop.style.width = dome.style.width = w + "px";
      pop.style.height = dome.style.height = h + "px";
      place(ring, -w / 2, -w / 2 - 12);
      ring.style.width = ring.style.height = w + "px";
      swift(pop, keys(450, [[0, { transform: "scale(.25)", opacity: HIDDEN }, "ease-out"], [300, { transform: "scale(1.08)", opacity: 1 }, "ease-in-out"], [450, { transform: "scale(1)", opacity: 1 }]]), 450);
      step(dome, keys(ms, [[0, { opacity: 1 }], [2500, { opacity: 1 }], [ms, { opacity: 0 }]]), ms, 4);
      swift(ring, keys(850, [[0, { transform: "scale(.6)", opacity: HIDDEN }, "step-end"], [250, { transform: "scale(.6)", opacity: 0.9 }, "ease-out"], [850, { transform: "scale(1.7)", opacity: 0 }]]), 850);
      const plaque = part(root, "budget");
      const name = budget && budget.budget ? budget.budget : "the disruption budget";
      const said = budget && budget.needs !== undefined && budget.needs !== null
        ? name + " needs " + budget.needs + " healthy, has " + budget.has : name + " held";
      plaque.innerHTML = SHIELD;
      plaque.append(el("span", "budget-text"));
      plaque.lastChild.append(el("span", "budget-no", "Kubernetes said no"), el("span", "budget-said", said));
      // Over the shield, kept on the stage and below the header.
      const pw = 440, top = Math.max(150 - t.y, -h / 2 - 12 - 74);
      place(plaque, Math.min(Math.max(-pw / 2, 16 - t.x), W - 16 - pw - t.x), top);
      plaque.style.width = pw + "px";
      step(plaque, keys(ms, [[0, { opacity: HIDDEN }], [250, { opacity: 1 }], [2500, { opacity: 1 }], [ms, { opacity: 0 }]]), ms, 4);
      return ms + 100;
    },
  };

  // A staff preview's stand-in for a container: a grey drill crate over the water.
  function drillCrate() {
    const drill = place(el("div", "box drill"), 616, 598);
    drill.style.setProperty("--c", "#8d99ae");
    drill.append(el("span", "ord", "⚠"), el("span", "name", "drill crate"));
    fx.appendChild(drill);
    return drill;
  }
  // Plays kill animation `name` over the container of `pod` (a drill crate when staff preview it).
  function playKill(name, pod) {
    if (kills[name]) playOver(name, "kill", kills[name], pod);
  }
  // Plays `play` (a kill animation or the guard) as scene `name` of `kind` over the container of
  // `pod` (a drill crate when staff preview it); `extra` goes to `play` (the guard's budget).
  function playOver(name, kind, play, pod, extra) {
    const drill = pod ? null : drillCrate();
    const box = pod ? boxFor(pod) : drill;
    if (!box) return;
    whereNext(box, function (at) {
      const target = { x: at.x, y: at.y, w: at.w, h: at.h, color: pod ? box.style.getPropertyValue("--c") : "#8d99ae" };
      // On the page before its parts are animated: Blink composites an animation only if its
      // element is on the page when the next frame checks it.
      const root = place(fx.appendChild(el("div", "scene " + kind + " " + name)), at.x, at.y);
      root.dataset.scene = name;
      if (pod) root.dataset.victim = pod; // not data-pod: that names containers
      playing.set(root, { name: name, kind: kind });
      later(play(root, target, extra), function () { end(root); if (drill) drill.remove(); });
    });
  }
  // Kubernetes said no: the shield over the picked container, and the reticle gone. (The budget's
  // words in full are kiosk-health.js's note.)
  function guard(c) {
    if (!motion()) return;
    const box = boxFor(c.name);
    if (box) afterTicks(1, function () { untarget(box); });
    playOver("shield", "guard", guards.shield, c.name, c.budget);
  }
  const nodeScenes = {
    "ship-departs": function () {
      const ship = drillShip();
      sailOut(ship, "ship-departs", function () { ship.remove(); });
    },
    "ship-returns": function () {
      const ship = drillShip();
      sailIn(ship, "ship-returns", function () { later(1000, function () { ship.remove(); }); });
    },
    "container-lift": function () {
      const drill = drillCrate();
      lift(drill, null, function () { drill.remove(); });
    },
  };

  // Every event starts with a tick's writes (see "the frame grid").
  const scenes = {};
  Object.keys(ambient).forEach(function (k) { scenes[k] = function () { onTick(ambient[k]); }; });
  Object.keys(cameos).forEach(function (k) { scenes[k] = function () { onTick(cameos[k]); }; });
  Object.keys(kills).forEach(function (k) { scenes[k] = function () { onTick(function () { playKill(k, null); }); }; });
  Object.keys(guards).forEach(function (k) { scenes[k] = function () { onTick(function () { playOver(k, "guard", guards[k], null); }); }; });
  Object.keys(nodeScenes).forEach(function (k) { scenes[k] = function () { onTick(nodeScenes[k]); }; });

  // Stops ambient events and cameos (staff asked for another one); kill, guard and node scenes
  // play on.
  function clearShows() {
    playing.forEach(function (info, root) { if (info.kind === "ambient" || info.kind === "cameo") end(root); });
    document.body.classList.remove("storm");
    loopsMayStart = true;
  }
  function cue(c) {
    if (!motion() || document.hidden) return;
    if (c.pod) { killCues.set(c.pod, Date.now()); playKill(c.name, c.pod); return; }
    const play = scenes[c.name];
    if (!play) return;
    if (kindOf[c.name] === "ambient" || kindOf[c.name] === "cameo") clearShows();
    play();
  }
  // The page's own schedule: one ambient event at a time, at the Booth's pace (`showPace`, live
  // from the `booth` event): lively, about one a minute and now and then a cameo; calm, about
  // one in five minutes and no cameos, for a busy Pi; still, none. Each costs CPU while it plays.
  // `?theatre=fast` (tests) makes the pauses fifty times shorter.
  const PACES = { lively: { gap: [45000, 75000], cameos: 0.1 }, calm: { gap: [240000, 360000], cameos: 0 }, still: null };
  let pace = PACES.lively, lastShow = null, nextShow = null;
  function schedule(first) {
    clearTimeout(nextShow);
    if (!pace) return;
    const gap = first ? rand(15000, 30000) : rand(pace.gap[0], pace.gap[1]);
    nextShow = setTimeout(function () { onTick(function () { schedule(false); showSomething(); }); }, FAST ? gap / 50 : gap);
  }
  function setPace(name) {
    const next = Object.prototype.hasOwnProperty.call(PACES, name) ? PACES[name] : PACES.lively;
    if (next === pace) return;
    pace = next;
    if (animate) schedule(false);
  }
  function showSomething() {
    if (!pace || !motion() || document.hidden || playing.size > 0) return;
    const cameo = Math.random() < pace.cameos;
    const pool = CATALOGUE.filter(function (s) { return s.kind === (cameo ? "cameo" : "ambient") && s.name !== lastShow && scenes[s.name]; });
    if (pool.length === 0) return;
    lastShow = pool[Math.floor(Math.random() * pool.length)].name;
    scenes[lastShow]();
  }

  // ---------- state from the server ----------
  function setKills(n, bump) {
    if (n === killCount && killsEl.textContent !== "") return;
    const grew = n > killCount;
    killCount = n;
    onTick(function () {
      killsEl.textContent = String(killCount);
      if (bump && grew && !reduced.matches) {
        counterEl.classList.add("bump"); // for one tick
        afterTicks(1, function () { counterEl.classList.remove("bump"); });
      }
    });
  }
  function setMode(mode) {
    if (document.body.classList.contains("night") !== (mode === "night")) loopsMayStart = true; // the beam
    document.body.classList.toggle("night", mode === "night");
    document.body.classList.toggle("day", mode !== "night");
  }
  function applySnapshot(s) {
    if (s.build && BUILD && s.build !== BUILD) { reloadWhenServed(); return; }
    heard();
    setPace(s.showPace);
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
    booth: function (b) { setKills(b.killCount, true); setMode(b.mode); setPace(b.showPace); },
    chaos: function (c) {
      if (c.phase === "picked") target(c.name);
      // The log's line and the banner a tick after the kill's first (its strike, the reticle, the
      // container's state): their layout and paint in a frame of their own, not all in one.
      if (c.phase === "killed") {
        const report = function () { logKill(c.name); showBanner("BOOM! " + c.name + " destroyed"); };
        if (motion() && !document.hidden) afterTicks(1, report); else report();
      }
      if (c.phase === "refused") guard(c);
    },
    scene: cue,
    availability: function (a) { (a.healed || []).forEach(healed); },
  };

  // ---------- the live connection ----------
  // One stream per page: the page's other scripts (kiosk-health.js, kiosk-visitors.js) listen on
  // it through window.kiosk.listen instead of opening their own, so every event crosses the
  // network and the browser once.
  // Events are handled on the grid's next tick, in the order they came (see "the frame grid").
  const listeners = {}; // event name -> the other scripts' functions
  function attach(target, name) {
    target.addEventListener(name, function (event) {
      lastHeard = Date.now();
      let data;
      try { data = JSON.parse(event.data); } catch (e) { console.warn("kiosk: bad " + name + " event", e); return; }
      const fs = (handlers[name] ? [handlers[name]] : []).concat(listeners[name] || []);
      onTick(function () {
        fs.forEach(function (f) { try { f(data); } catch (e) { console.warn("kiosk: " + name + " event", e); } });
      });
    });
  }
  function listen(name, f) {
    const attached = handlers[name] || listeners[name];
    (listeners[name] = listeners[name] || []).push(f);
    if (source && !attached) attach(source, name);
  }
  // The page runs all day unattended. While the stream is lost it keeps its picture and, after a
  // few seconds, says quietly that it is reconnecting (#link); it never shows an error page.
  // It reloads itself, once the server answers for the page again, when the server's page build
  // (in every snapshot) is not the one it was served (a new image), and when it comes back
  // after a long time without the stream (`?reload-after=<seconds>`, default 300): a fresh page
  // instead of one that has been patched by events for a day.
  const INITIAL = (function () { try { return JSON.parse(document.getElementById("initial").textContent); } catch (e) { console.warn("kiosk:", e); return null; } })();
  const BUILD = INITIAL ? INITIAL.build : null;
  const RELOAD_AFTER = (Number(new URLSearchParams(location.search).get("reload-after")) || 300) * 1000;
  const QUIET_MS = 3000; // a blip is not worth mentioning
  let source = null, lastHeard = Date.now(), retryMs = 1000, downSince = null, reloading = false;
  function reloadWhenServed() {
    if (reloading) return;
    reloading = true;
    fetch(location.href, { cache: "no-store" }).then(function (r) {
      if (r.ok) location.reload(); else reloading = false;
    }, function () { reloading = false; });
  }
  // The stream answered with a snapshot: the server is there.
  function heard() {
    if (downSince !== null && Date.now() - downSince > RELOAD_AFTER) reloadWhenServed();
    downSince = null;
    onTick(function () { link.className = "up"; });
  }
  function lost() {
    if (downSince !== null) return;
    const since = downSince = Date.now();
    later(QUIET_MS, function () { if (downSince === since) link.className = "down"; });
  }
  function connect() {
    if (source) source.close();
    source = new EventSource("/stream");
    source.onopen = function () { retryMs = 1000; lastHeard = Date.now(); };
    source.onerror = function () {
      lost();
      // EventSource retries by itself unless the server answered with an error status.
      if (source.readyState === EventSource.CLOSED) {
        later(retryMs, connect);
        retryMs = Math.min(retryMs * 2, 15000);
      }
    };
    const names = new Set(Object.keys(handlers).concat(Object.keys(listeners)));
    names.forEach(function (name) { attach(source, name); });
  }
  // A quiet stream is normal, but after 45 s reconnecting costs nothing and fetches a fresh
  // snapshot, so the picture can never be stale by more than that.
  setInterval(function () { if (Date.now() - lastHeard > 45000) { lastHeard = Date.now(); connect(); } }, 5000);
  window.addEventListener("resize", fit);

  fit();
  if (INITIAL) guarded(applySnapshot, INITIAL);
  adoptFirstLoops();
  animate = true;
  connect();
  schedule(true);
  window.kiosk = { scenes: scenes, pods: pods, nodes: nodes, playing: playing, listen: listen, onNextTick: onNextTick, onTick: onTick, build: BUILD, cue: cue };
})();
