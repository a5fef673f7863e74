// The control panel's forms are sent with fetch so the phone stays on the page and shows the
// answer's message; the live pod list and the ordinal buttons follow /stream; the Booth health
// card follows /control/health.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;
  const toast = document.getElementById("toast");
  const list = document.getElementById("pods");
  const ordinals = document.getElementById("ordinals");
  const kills = document.getElementById("kills");
  const link = document.getElementById("link");
  const PALETTE = ["#e63946", "#f4a261", "#2a9d8f", "#3a86ff", "#e9c46a", "#8e44ad", "#ff6b9a", "#43aa8b", "#fb5607", "#6d597a"];
  const pods = new Map();
  let toastTimer = null;

  function say(text, bad) {
    toast.textContent = text;
    toast.className = "show" + (bad ? " bad" : "");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.className = ""; }, 3500);
  }
  async function send(form) {
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await response.json().catch(function () { return { message: response.statusText }; });
      say(body.message || response.statusText, !response.ok);
      if (response.status === 401) setTimeout(function () { location.reload(); }, 1200);
      if (body.nightMode !== undefined) {
        document.getElementById("night-on").classList.toggle("active", body.nightMode);
        document.getElementById("night-off").classList.toggle("active", !body.nightMode);
      }
    } catch (e) {
      say("No answer from the booth: " + e.message, true);
    }
  }
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.hasAttribute("data-js")) return;
    event.preventDefault();
    send(form);
  });

  function colorOf(pod) { return PALETTE[(pod.index === null || pod.index === undefined ? 0 : pod.index) % PALETTE.length]; }
  function render() {
    const sorted = Array.from(pods.values()).sort(function (a, b) {
      return (a.index === null ? 1e9 : a.index) - (b.index === null ? 1e9 : b.index) || a.name.localeCompare(b.name);
    });
    list.replaceChildren.apply(list, sorted.map(function (pod) {
      const li = document.createElement("li");
      li.className = pod.status;
      li.style.setProperty("--c", colorOf(pod));
      const name = document.createElement("span");
      name.textContent = pod.name + (pod.node ? " · " + pod.node : "");
      const st = document.createElement("span");
      st.className = "st";
      st.textContent = pod.status + (pod.protected ? " (protected)" : "");
      li.append(name, st);
      return li;
    }));
    const indexed = sorted.filter(function (p) { return p.index !== null && p.index !== undefined; });
    ordinals.replaceChildren.apply(ordinals, indexed.map(function (pod) {
      const form = document.createElement("form");
      form.method = "post";
      form.action = "/control/chaos/" + pod.index;
      form.setAttribute("data-js", "");
      const token = document.createElement("input");
      token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
      const button = document.createElement("button");
      button.type = "submit";
      button.textContent = String(pod.index);
      button.title = "Kill " + pod.name;
      button.style.setProperty("--c", colorOf(pod));
      button.disabled = pod.status !== "Running" || pod.protected;
      form.append(token, button);
      return form;
    }));
  }
  // The nodes, each with its drain and uncordon buttons (a form per action, like the ordinals).
  const nodeList = document.getElementById("nodes");
  const nodes = new Map();
  function action(path, label, enabled) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = path;
    form.setAttribute("data-js", "");
    const token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = label;
    button.disabled = !enabled;
    form.append(token, button);
    return form;
  }
  function renderNodes() {
    const sorted = Array.from(nodes.values()).sort(function (a, b) { return a.name.localeCompare(b.name); });
    nodeList.replaceChildren.apply(nodeList, sorted.map(function (node) {
      const li = document.createElement("li");
      li.dataset.node = node.name;
      const name = document.createElement("span");
      const onIt = Array.from(pods.values()).filter(function (p) { return p.node === node.name && p.status !== "Terminating"; }).length;
      name.textContent = node.name + " · " + (node.status === "KubeletReady" ? "Ready" : node.status) +
        (node.unschedulable ? ", cordoned" : "") + " · " + onIt + (onIt === 1 ? " pod" : " pods");
      const base = "/control/nodes/" + encodeURIComponent(node.name);
      li.append(name, action(base + "/drain", "Drain", !node.unschedulable), action(base + "/uncordon", "Uncordon", !!node.unschedulable));
      return li;
    }));
  }
  const handlers = {
    snapshot: function (s) {
      pods.clear(); s.pods.forEach(function (p) { pods.set(p.name, p); }); kills.textContent = s.killCount; render();
      nodes.clear(); s.nodes.forEach(function (n) { nodes.set(n.name, n); }); renderNodes();
    },
    pod: function (p) { pods.set(p.name, p); render(); renderNodes(); },
    podDeleted: function (d) { pods.delete(d.name); render(); renderNodes(); },
    node: function (n) { nodes.set(n.name, n); renderNodes(); },
    nodeDeleted: function (d) { nodes.delete(d.name); renderNodes(); },
    booth: function (b) { kills.textContent = b.killCount; },
  };
  function connect() {
    const source = new EventSource("/stream");
    source.onopen = function () { link.textContent = "live"; };
    source.onerror = function () {
      link.textContent = "reconnecting…";
      if (source.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    };
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (e) {
        try { handlers[name](JSON.parse(e.data)); } catch (err) { console.warn("control:", err); }
      });
    });
  }
  try { handlers.snapshot(JSON.parse(document.getElementById("initial").textContent)); } catch (e) { console.warn(e); }
  connect();

  // The Booth health card: the problems first, each with its fix; the checks that passed folded
  // away. Refreshed every 15 s while the panel is in view (the server reuses a report a few
  // seconds old, so two phones do not double the checks).
  const GROUPS = { kubernetes: "Kubernetes", permissions: "Permissions", hardware: "Hardware", services: "Services", clock: "Clock and hours" };
  const MARKS = { ok: "✓", warn: "‼", fail: "✗" };
  const WORDS = { ok: "passed", warn: "warning", fail: "failed" };
  const RANK = { fail: 0, warn: 1, ok: 2 };
  const health = {
    summary: document.getElementById("health-summary"),
    problems: document.getElementById("health-problems"),
    passed: document.getElementById("health-passed"),
    when: document.getElementById("health-when"),
  };
  function checkItem(check) {
    const li = document.createElement("li");
    li.className = check.status;
    const mark = document.createElement("span");
    mark.className = "mark";
    mark.textContent = MARKS[check.status] || "?";
    mark.title = WORDS[check.status] || check.status;
    const body = document.createElement("div");
    const title = document.createElement("strong");
    title.textContent = (GROUPS[check.group] || check.group) + " · " + check.name;
    const message = document.createElement("span");
    message.className = "msg";
    message.textContent = check.message;
    body.append(title, message);
    if (check.hint && check.status !== "ok") {
      const fix = document.createElement("p");
      fix.className = "fix";
      fix.textContent = check.hint;
      body.append(fix);
    }
    li.append(mark, body);
    return li;
  }
  function renderHealth(report) {
    if (!report || !Array.isArray(report.checks)) return;
    const problems = report.checks.filter(function (c) { return c.status !== "ok"; })
      .sort(function (a, b) { return RANK[a.status] - RANK[b.status]; });
    const passed = report.checks.filter(function (c) { return c.status === "ok"; });
    health.problems.replaceChildren.apply(health.problems, problems.map(checkItem));
    health.passed.hidden = passed.length === 0;
    health.passed.querySelector("summary").textContent = passed.length + (passed.length === 1 ? " check passed" : " checks passed");
    const list = health.passed.querySelector("ul");
    list.replaceChildren.apply(list, passed.map(checkItem));
    const failed = problems.filter(function (c) { return c.status === "fail"; }).length;
    const warned = problems.length - failed;
    health.summary.className = "badge " + (failed ? "fail" : warned ? "warn" : "ok");
    health.summary.textContent = failed ? failed + " failed" : warned ? warned + (warned === 1 ? " warning" : " warnings") : "all good";
    health.when.textContent = "Checked at " + new Date().toLocaleTimeString() + ", again every 15 s while this page is open.";
  }
  async function refreshHealth() {
    if (document.visibilityState !== "visible") return;
    try {
      const response = await fetch("/control/health", {
        headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store",
      });
      if (response.status === 401) { location.reload(); return; }
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      renderHealth(await response.json());
    } catch (e) {
      health.when.textContent = "The health checks did not answer (" + e.message + "); trying again in 15 s.";
    }
  }
  try { renderHealth(JSON.parse(document.getElementById("health-initial").textContent)); } catch (e) { console.warn(e); }
  refreshHealth();
  setInterval(refreshHealth, 15000);
  document.addEventListener("visibilitychange", refreshHealth);
})();
