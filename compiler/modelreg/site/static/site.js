/* The catalog site's one script: it draws the pools, the table of models and each model's page
   from data.js (window.MODELREG_SITE), with no library and no request. Catalog strings only ever
   become text nodes and attribute values, never markup. */
"use strict";

(() => {
  const data = window.MODELREG_SITE;
  if (!data) {
    return;
  }
  const PAGE_SIZE = 100;
  const STATUS_ORDER = ["active", "preview", "deprecated", "retired", "discovered"];

  const models = data.models.map((row, index) => {
    const model = { index };
    data.fields.forEach((field, i) => {
      model[field] = row[i];
    });
    return model;
  });
  const byName = new Map(models.map((m) => [m.name, m]));
  // Each model's pools with its place in each: [capability index, position from 1].
  const poolsOf = models.map(() => []);
  data.pools.forEach((members, pool) => {
    members.forEach((m, i) => poolsOf[m].push([pool, i + 1]));
  });

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children) {
      if (child !== null && child !== undefined) {
        node.append(child);
      }
    }
    return node;
  }

  const modelHref = (name) => "model.html#" + encodeURIComponent(name);
  const poolHref = (path) => "pools.html#pool-" + encodeURIComponent(path);
  const modelLink = (name) => el("a", { href: modelHref(name) }, name);
  const poolLink = (path) => el("a", { href: poolHref(path) }, el("code", {}, path));
  const providerName = (m) => data.providers[m.provider][0];
  const formatCount = (n) => (n === null || n === undefined ? "—" : n.toLocaleString("en-US"));
  const formatCost = (value, currency) => {
    if (value === null || value === undefined) {
      return "—";
    }
    return !currency || currency === "USD" ? "$" + value : value + " " + currency;
  };
  const formatTime = (seconds) =>
    new Date(seconds * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const statusBadge = (status) => el("span", { class: "status status-" + (status || "unknown") }, status || "—");

  function hashParams() {
    return new URLSearchParams(location.hash.slice(1));
  }

  function setHash(params) {
    const text = params.toString();
    try {
      history.replaceState(null, "", text ? "#" + text : location.pathname + location.search);
    } catch (error) {
      // Some browsers refuse replaceState on file:// pages; the page still works without it.
    }
  }

  /* ---- the table of models ---- */

  function capabilityMatches(model, prefix) {
    return model.capabilities.some((c) => {
      const path = data.capabilities[c];
      return path === prefix || path.startsWith(prefix + ".");
    });
  }

  const SORT_KEYS = {
    name: (m) => m.name,
    provider: (m) => providerName(m),
    context_window: (m) => m.context_window,
    input_cost: (m) => m.input_cost,
    output_cost: (m) => m.output_cost,
    status: (m) => (m.status === null ? null : STATUS_ORDER.indexOf(m.status)),
  };

  function compare(a, b) {
    return a < b ? -1 : a > b ? 1 : 0;
  }

  function modelsPage() {
    const form = document.getElementById("filters");
    const inputs = {
      q: document.getElementById("q"),
      provider: document.getElementById("provider"),
      capability: document.getElementById("capability"),
      feature: document.getElementById("feature"),
      status: document.getElementById("status"),
      min_context: document.getElementById("min-context"),
    };
    const body = document.querySelector("#models tbody");
    const count = document.getElementById("count");
    const more = document.getElementById("more");
    const state = { sort: "name", dir: 1, limit: PAGE_SIZE };

    data.providers.forEach(([name, display]) =>
      inputs.provider.append(el("option", { value: name }, display === name ? name : display + " (" + name + ")")));
    data.capabilities.forEach((path) => {
      const depth = path.split(".").length - 1;
      inputs.capability.append(el("option", { value: path }, "\u00a0\u00a0".repeat(depth) + path));
    });
    data.features.forEach((name) => inputs.feature.append(el("option", { value: name }, name)));
    const statuses = new Set(models.map((m) => m.status));
    STATUS_ORDER.filter((s) => statuses.has(s)).forEach((s) => inputs.status.append(el("option", { value: s }, s)));

    function readState() {
      const params = hashParams();
      for (const [key, input] of Object.entries(inputs)) {
        const value = params.get(key) || "";
        // A value the page does not offer (a capability from an old link) matches nothing rather
        // than silently showing everything.
        if (input.tagName === "SELECT" && value && !Array.from(input.options).some((o) => o.value === value)) {
          input.append(el("option", { value }, value + " (unknown)"));
        }
        input.value = value;
      }
      const sort = params.get("sort") || "name";
      state.sort = sort.replace(/^-/, "") in SORT_KEYS ? sort.replace(/^-/, "") : "name";
      state.dir = sort.startsWith("-") ? -1 : 1;
    }

    function writeState() {
      const params = new URLSearchParams();
      for (const [key, input] of Object.entries(inputs)) {
        if (input.value) {
          params.set(key, input.value);
        }
      }
      if (state.sort !== "name" || state.dir !== 1) {
        params.set("sort", (state.dir < 0 ? "-" : "") + state.sort);
      }
      setHash(params);
    }

    function matches() {
      const terms = inputs.q.value.toLowerCase().split(/\s+/).filter(Boolean);
      const provider = inputs.provider.value;
      const capability = inputs.capability.value;
      const feature = data.features.indexOf(inputs.feature.value);
      const status = inputs.status.value;
      const minContext = Number(inputs.min_context.value) || 0;
      return models.filter((m) => {
        if (provider && providerName(m) !== provider) return false;
        if (capability && !capabilityMatches(m, capability)) return false;
        if (inputs.feature.value && !m.features.includes(feature)) return false;
        if (status && m.status !== status) return false;
        if (minContext && !(m.context_window >= minContext)) return false;
        if (terms.length) {
          const text = [m.name, m.display_name || "", m.model_id, providerName(m), data.providers[m.provider][1]]
            .join("\n")
            .toLowerCase();
          if (!terms.every((t) => text.includes(t))) return false;
        }
        return true;
      });
    }

    function sorted(list) {
      const key = SORT_KEYS[state.sort];
      return list.slice().sort((a, b) => {
        const x = key(a);
        const y = key(b);
        // Unknown values go last, whichever way the column is sorted.
        if (x === null || x === undefined || y === null || y === undefined) {
          const missing = (x === null || x === undefined) - (y === null || y === undefined);
          return missing || compare(a.name, b.name);
        }
        return state.dir * compare(x, y) || compare(a.name, b.name);
      });
    }

    function row(m) {
      return el(
        "tr",
        { "data-name": m.name },
        el("td", {}, modelLink(m.name), m.display_name ? el("div", { class: "display" }, m.display_name) : null),
        el("td", {}, providerName(m)),
        el("td", {}, ...m.capabilities.map((c) => el("div", {}, poolLink(data.capabilities[c])))),
        el("td", { class: "features" }, m.features.map((f) => data.features[f]).join(", ")),
        el("td", { class: "num" }, formatCount(m.context_window)),
        el("td", { class: "num" }, formatCost(m.input_cost, m.currency)),
        el("td", { class: "num" }, formatCost(m.output_cost, m.currency)),
        el("td", {}, statusBadge(m.status)),
      );
    }

    function draw() {
      const found = sorted(matches());
      const shown = found.slice(0, state.limit);
      body.replaceChildren(...shown.map(row));
      count.textContent =
        found.length + " of " + models.length + " models" +
        (shown.length < found.length ? " (showing the first " + shown.length + ")" : "");
      more.hidden = shown.length >= found.length;
      document.querySelectorAll("#models th button[data-sort]").forEach((button) => {
        const th = button.parentElement;
        if (button.dataset.sort === state.sort) {
          th.setAttribute("aria-sort", state.dir > 0 ? "ascending" : "descending");
        } else {
          th.removeAttribute("aria-sort");
        }
      });
    }

    function changed() {
      state.limit = PAGE_SIZE;
      writeState();
      draw();
    }

    // Typing fires `input`; a select may fire only `change` (as WebDriver's choosing does).
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("reset", () => setTimeout(changed, 0));
    document.querySelectorAll("#models th button[data-sort]").forEach((button) =>
      button.addEventListener("click", () => {
        const key = button.dataset.sort;
        state.dir = state.sort === key ? -state.dir : 1;
        state.sort = key;
        changed();
      }));
    more.addEventListener("click", () => {
      state.limit += PAGE_SIZE * 5;
      draw();
    });
    window.addEventListener("hashchange", () => {
      readState();
      draw();
    });
    readState();
    draw();
  }

  /* ---- every pool ---- */

  function poolsPage() {
    const sections = Array.from(document.querySelectorAll("details.pool"));
    function fill(details) {
      const list = details.querySelector("ol.members");
      if (list.childElementCount) {
        return;
      }
      const members = data.pools[Number(details.dataset.pool)];
      list.append(...members.map((i) => {
        const m = models[i];
        return el("li", {}, modelLink(m.name), " ", statusBadge(m.status),
          el("span", { class: "meta" }, " " + providerName(m) + " · priority " + m.priority));
      }));
      if (!members.length) {
        details.querySelector("summary").append(el("span", { class: "note" }, " (no model serves it)"));
      }
    }
    sections.forEach((details) => details.addEventListener("toggle", () => details.open && fill(details)));
    document.getElementById("expand-all").addEventListener("click", () => sections.forEach((d) => {
      d.open = true;
      fill(d);
    }));
    function openTarget() {
      const id = decodeURIComponent(location.hash.slice(1));
      const target = id && document.getElementById(id);
      if (target && target.tagName === "DETAILS") {
        target.open = true;
        fill(target);
        target.scrollIntoView();
      }
    }
    // A small catalog is shown whole; a large one pool by pool, as they are opened.
    if (data.pools.reduce((sum, members) => sum + members.length, 0) <= 2000) {
      sections.forEach((d) => {
        d.open = true;
        fill(d);
      });
    }
    window.addEventListener("hashchange", openTarget);
    openTarget();
  }

  /* ---- one model ---- */

  function entry(list, term, ...values) {
    list.append(el("dt", {}, term), el("dd", {}, ...values));
  }

  function modelPage() {
    const article = document.getElementById("model");
    function draw() {
      const name = decodeURIComponent(location.hash.slice(1));
      const m = byName.get(name);
      if (!m) {
        document.title = "Unknown model · modelreg";
        article.replaceChildren(el("h1", {}, "Unknown model"),
          el("p", { class: "note" }, name ? "No model named " + name + " in this catalog. " : "No model named. ",
            el("a", { href: "models.html" }, "Search the models.")));
        return;
      }
      document.title = m.name + " · modelreg";
      const facts = el("dl", { class: "facts" });
      const provider = data.providers[m.provider];
      entry(facts, "Provider", provider[1] === provider[0] ? provider[0] : provider[1] + " (" + provider[0] + ")");
      entry(facts, "Model ID", el("code", {}, m.model_id));
      const lifecycle = [statusBadge(m.status)];
      for (const [label, value] of [["released", m.released], ["deprecated", m.deprecated_at],
        ["retires", m.retires_at]]) {
        if (value) lifecycle.push(" " + label + " " + value);
      }
      entry(facts, "Status", ...lifecycle);
      if (m.replacement) entry(facts, "Replacement", modelLink(m.replacement));
      entry(facts, "Priority", String(m.priority));
      entry(facts, "Delivery", m.delivery + (m.batch ? ", batch" : ""));
      entry(facts, "Context window", formatCount(m.context_window));
      entry(facts, "Max output", formatCount(m.max_output_tokens));
      entry(facts, "Input", m.inputs.join(", ") || "—");
      entry(facts, "Output", m.outputs.join(", ") || "—");
      entry(facts, "Cost per million tokens",
        "input " + formatCost(m.input_cost, m.currency) + ", output " + formatCost(m.output_cost, m.currency));

      const pools = poolsOf[m.index];
      const historyList = el("dl", { class: "facts", id: "history" });
      entry(historyList, "Registered",
        m.registered_at !== null ? formatTime(m.registered_at) : data.history_note || "not committed yet");
      if (m.last_commit !== null) {
        const [sha, when, author, subject] = data.commits[m.last_commit];
        entry(historyList, "Last change", formatTime(when) + " ", el("code", {}, sha.slice(0, 12)),
          " " + author + ": " + subject + (m.last_change === "added" ? " (added)" : ""));
        entry(historyList, "Commits", String(m.commits));
      } else {
        entry(historyList, "Last change", data.history_note || "not committed yet");
      }

      const parts = [
        el("h1", {}, m.name),
        m.display_name ? el("p", { class: "display" }, m.display_name) : null,
        m.description ? el("p", { class: "description" }, m.description) : null,
        facts,
        el("h2", {}, "Capabilities"),
        el("ul", {}, ...m.capabilities.map((c) => el("li", {}, poolLink(data.capabilities[c])))),
        el("h2", {}, "Pools"),
        pools.length
          ? el("ul", { id: "pools" }, ...pools.map(([p, position]) => el("li", {}, "#" + position + " of " +
            data.pools[p].length + " in ", poolLink(data.capabilities[p]))))
          : el("p", { class: "note" }, "In no pool (" + (m.status || "no status") + ")."),
        el("h2", {}, "Features"),
        el("p", {}, m.features.map((f) => data.features[f]).join(", ") || "none declared"),
        el("h2", {}, "History"),
        historyList,
        el("p", { class: "note" }, el("code", {}, "modelreg history " + m.name),
          " lists every commit and what it changed; the whole record is in ", el("a", { href: "api.json" },
            "api.json"), "."),
      ];
      article.replaceChildren(...parts.filter((part) => part !== null));
    }
    window.addEventListener("hashchange", draw);
    draw();
  }

  const page = document.body.dataset.page;
  if (page === "models") modelsPage();
  else if (page === "pools") poolsPage();
  else if (page === "model") modelPage();
})();
