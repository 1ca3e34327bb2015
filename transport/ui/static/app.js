// The chat page of an agentry server. It talks only to the server that
// serves it: every URL is relative to the page, which lives at <root>/ui/,
// so the page works wherever the handler is mounted. The login cookie set
// by POST <root>/auth/login authenticates every API call, including the
// EventSource of the session's events.
"use strict";

(() => {
  const root = new URL("../", document.baseURI);
  const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

  const $ = (id) => document.getElementById(id);
  const views = ["login-view", "sessions-view", "chat-view"];

  // Chat state: the open session, its event stream and the last offset
  // shown, so that replayed events are not shown twice.
  let session = null;
  let source = null;
  let lastOffset = -1;
  let reconnectTimer = 0;

  class AuthError extends Error {}

  function apiURL(path) {
    return new URL(path, root).toString();
  }

  function show(view) {
    $("loading").hidden = true;
    for (const v of views) {
      $(v).hidden = v !== view;
    }
    $("logout").hidden = view === "login-view";
  }

  function showError(id, message) {
    const el = $(id);
    el.textContent = message;
    el.hidden = !message;
  }

  // request sends a JSON request (or a form when form is set) and returns
  // the status and the decoded body. A 401 shows the login form and
  // throws AuthError.
  async function request(method, path, body, form) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (form) {
      init.body = form;
    } else if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(apiURL(path), init);
    let data = null;
    const text = await resp.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { error: { message: text } };
      }
    }
    if (resp.status === 401 && path !== "auth/login") {
      showLogin();
      throw new AuthError("unauthorized");
    }
    return { status: resp.status, data };
  }

  function errorMessage(res, what) {
    const msg = res.data && res.data.error && res.data.error.message;
    return what + " failed (" + res.status + ")" + (msg ? ": " + msg : "");
  }

  // report shows err in the element with id errorId, unless it is the
  // AuthError that already switched to the login form.
  function report(errorId, err) {
    if (err instanceof AuthError) {
      return;
    }
    showError(errorId, "The request failed: " + err.message);
  }

  // Login.

  function showLogin() {
    closeStream();
    session = null;
    show("login-view");
    $("api-key").focus();
  }

  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("login-error", "");
    const form = new URLSearchParams({ api_key: $("api-key").value });
    try {
      const res = await request("POST", "auth/login", undefined, form);
      if (res.status === 401) {
        showError("login-error", "The API key is wrong. Check it and try again.");
        $("api-key").select();
        return;
      }
      if (res.status !== 200) {
        showError("login-error", errorMessage(res, "Logging in"));
        return;
      }
      $("api-key").value = "";
      await start();
    } catch (err) {
      report("login-error", err);
    }
  });

  $("logout").addEventListener("click", async () => {
    try {
      await request("POST", "auth/logout");
    } catch (err) {
      // Show the login form whatever happened: the cookie is either
      // cleared or no longer valid.
    }
    showLogin();
  });

  // Sessions.

  async function showSessions(customerID) {
    closeStream();
    session = null;
    showError("sessions-error", "");
    let path = "sessions?limit=20";
    if (customerID) {
      path += "&customer_id=" + encodeURIComponent(customerID);
    }
    const res = await request("GET", path);
    show("sessions-view");
    if (res.status !== 200) {
      showError("sessions-error", errorMessage(res, "Listing sessions"));
      return;
    }
    renderSessionList(res.data.sessions || []);
  }

  function renderSessionList(list) {
    const ul = $("session-list");
    ul.replaceChildren();
    if (list.length === 0) {
      const li = document.createElement("li");
      li.textContent = "No sessions yet.";
      ul.append(li);
      return;
    }
    for (const s of list) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = s.id;
      button.setAttribute("aria-label", "Open session " + s.id);
      button.addEventListener("click", () => openSession(s));
      const details = document.createElement("span");
      details.className = "details";
      const parts = [s.mode];
      if (s.customer_id) {
        parts.unshift("customer " + s.customer_id);
      }
      parts.push("updated " + new Date(s.updated_at).toLocaleString());
      details.textContent = parts.join(" · ");
      li.append(button, details);
      ul.append(li);
    }
  }

  $("new-session-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("sessions-error", "");
    const body = {};
    const customer = $("new-customer").value.trim();
    if (customer) {
      body.customer_id = customer;
    }
    try {
      const res = await request("POST", "sessions", body);
      if (res.status !== 200 && res.status !== 201) {
        showError("sessions-error", errorMessage(res, "Opening a session"));
        return;
      }
      openSession(res.data);
    } catch (err) {
      report("sessions-error", err);
    }
  });

  $("resume-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("sessions-error", "");
    const id = $("resume-id").value.trim();
    if (!idPattern.test(id)) {
      showError("sessions-error", "A session id has 1 to 64 letters, digits, - or _.");
      return;
    }
    try {
      const res = await request("GET", "sessions/" + encodeURIComponent(id));
      if (res.status === 404) {
        showError("sessions-error", "Session " + id + " was not found.");
        return;
      }
      if (res.status !== 200) {
        showError("sessions-error", errorMessage(res, "Reading the session"));
        return;
      }
      openSession(res.data);
    } catch (err) {
      report("sessions-error", err);
    }
  });

  $("filter-form").addEventListener("submit", (e) => {
    e.preventDefault();
    showSessions($("filter-customer").value.trim()).catch((err) => report("sessions-error", err));
  });

  $("back").addEventListener("click", () => {
    showSessions("").catch((err) => report("sessions-error", err));
  });

  // Chat.

  function openSession(s) {
    closeStream();
    session = s;
    lastOffset = -1;
    $("chat-session-id").textContent = s.id;
    $("transcript").replaceChildren();
    showError("chat-error", "");
    setMode(s.mode);
    setStatus("", "Connecting…");
    show("chat-view");
    history.replaceState(null, "", "#" + encodeURIComponent(s.id));
    connect();
    $("message-text").focus();
  }

  const eventKinds = ["user_message", "agent_message", "status", "tool_call", "tool_result", "routine", "mode"];

  // connect opens the session's event stream from the offset after the
  // last one shown. The browser reconnects by itself after a dropped
  // connection and sends Last-Event-ID, which the server resumes after.
  function connect() {
    const url = apiURL("sessions/" + encodeURIComponent(session.id) + "/events?min_offset=" + (lastOffset + 1));
    const es = new EventSource(url, { withCredentials: true });
    source = es;
    es.onopen = () => {
      if (!$("status").dataset.status) {
        setStatus("ready", "Ready");
      }
    };
    for (const kind of eventKinds) {
      es.addEventListener(kind, (e) => {
        let ev;
        try {
          ev = JSON.parse(e.data);
        } catch {
          return;
        }
        handleEvent(ev);
      });
    }
    es.onerror = () => {
      if (es.readyState !== EventSource.CLOSED || source !== es) {
        setStatus("", "Reconnecting…");
        return;
      }
      // The server responded with an error status, so the browser gave up.
      // Find out why, then reconnect or show the login form.
      source = null;
      setStatus("", "Disconnected");
      const id = session && session.id;
      request("GET", "sessions/" + encodeURIComponent(id))
        .then((res) => {
          if (!session || session.id !== id) {
            return;
          }
          if (res.status !== 200) {
            showError("chat-error", errorMessage(res, "Reading the session"));
            return;
          }
          reconnectTimer = setTimeout(connect, 2000);
        })
        .catch((err) => report("chat-error", err));
    };
  }

  function closeStream() {
    clearTimeout(reconnectTimer);
    if (source) {
      source.close();
      source = null;
    }
  }

  function handleEvent(ev) {
    if (typeof ev.offset !== "number" || ev.offset <= lastOffset) {
      return;
    }
    lastOffset = ev.offset;
    switch (ev.kind) {
      case "user_message":
        if (ev.source === "human_agent") {
          addEntry(ev, "Human agent", ev.text, "human_agent");
        } else {
          addEntry(ev, "Customer", ev.text, "customer");
        }
        break;
      case "agent_message": {
        const li = addEntry(ev, "Agent", ev.text);
        if (ev.citations && ev.citations.length > 0) {
          const p = document.createElement("p");
          p.className = "citations";
          p.textContent = "Sources: " + ev.citations.map((c) => c.title || c.id).join(", ");
          li.append(p);
        }
        break;
      }
      case "tool_call":
        addEntry(ev, "Tool call", ev.tool, undefined, ev.arguments);
        break;
      case "tool_result":
        if (ev.error) {
          addEntry(ev, "Tool error", ev.tool + ": " + ev.error.message);
        } else {
          addEntry(ev, ev.injected ? "Tool result (injected)" : "Tool result", ev.tool, undefined, ev.result);
        }
        break;
      case "status":
        handleStatus(ev);
        break;
      case "mode":
        setMode(ev.mode);
        addEntry(ev, "Mode", "Switched to " + ev.mode + (ev.reason ? " (" + ev.reason + ")" : ""));
        break;
      case "routine":
        addEntry(ev, "Routine", ev.routine_id + " " + ev.node_id + ": " + ev.state);
        break;
      default:
        // Kinds added after this page was written are skipped.
        break;
    }
  }

  const statusText = {
    acknowledged: "Agent is working…",
    processing: "Agent is working…",
    typing: "Agent is typing…",
    ready: "Ready",
    cancelled: "Cancelled",
    error: "Error",
  };

  function handleStatus(ev) {
    setStatus(ev.status, statusText[ev.status] || ev.status);
    if (ev.status === "error" && ev.error) {
      addEntry(ev, "Error", ev.error.message);
    } else if (ev.status === "cancelled") {
      addEntry(ev, "Status", "The turn was cancelled.");
    }
  }

  function setStatus(status, text) {
    const el = $("status");
    el.dataset.status = status;
    el.textContent = text;
  }

  function setMode(mode) {
    session.mode = mode;
    $("mode").textContent = mode;
    const manual = mode === "manual";
    $("mode-toggle").textContent = manual ? "Hand back to the agent (auto mode)" : "Take over as a human agent (manual mode)";
    $("mode-toggle").dataset.target = manual ? "auto" : "manual";
    $("message-source").value = manual ? "human_agent" : "customer";
  }

  // addEntry appends one transcript entry: who wrote it, its text, and
  // optionally a JSON value such as tool arguments or a tool result.
  function addEntry(ev, who, text, source, json) {
    const li = document.createElement("li");
    li.className = "entry kind-" + ev.kind;
    li.dataset.kind = ev.kind;
    li.dataset.offset = String(ev.offset);
    if (source) {
      li.dataset.source = source;
    }
    const head = document.createElement("div");
    head.className = "head";
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who;
    const time = document.createElement("time");
    time.dateTime = ev.created_at;
    time.textContent = new Date(ev.created_at).toLocaleTimeString();
    head.append(label, time);
    li.append(head);
    if (text) {
      const p = document.createElement("p");
      p.className = "text";
      p.textContent = text;
      li.append(p);
    }
    if (json !== undefined && json !== null) {
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(json, null, 2);
      li.append(pre);
    }
    const list = $("transcript");
    list.append(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  $("mode-toggle").addEventListener("click", async () => {
    showError("chat-error", "");
    const target = $("mode-toggle").dataset.target;
    try {
      const res = await request("PATCH", "sessions/" + encodeURIComponent(session.id), { mode: target });
      if (res.status !== 200) {
        showError("chat-error", errorMessage(res, "Changing the mode"));
        return;
      }
      setMode(res.data.mode);
    } catch (err) {
      report("chat-error", err);
    }
  });

  $("message-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    showError("chat-error", "");
    const text = $("message-text").value.trim();
    if (!text) {
      return;
    }
    const body = { text, source: $("message-source").value };
    try {
      const res = await request("POST", "sessions/" + encodeURIComponent(session.id) + "/messages", body);
      if (res.status !== 201) {
        showError("chat-error", errorMessage(res, "Sending the message"));
        return;
      }
      $("message-text").value = "";
    } catch (err) {
      report("chat-error", err);
    }
  });

  $("message-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $("message-form").requestSubmit();
    }
  });

  // Start: open the session named in the URL fragment, or list sessions.
  // Either request shows the login form when the cookie is missing.
  async function start() {
    const id = decodeURIComponent(location.hash.slice(1));
    if (idPattern.test(id)) {
      const res = await request("GET", "sessions/" + encodeURIComponent(id));
      if (res.status === 200) {
        openSession(res.data);
        return;
      }
    }
    await showSessions("");
  }

  start().catch((err) => {
    if (!(err instanceof AuthError)) {
      show("sessions-view");
      report("sessions-error", err);
    }
  });
})();
