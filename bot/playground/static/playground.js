// The playground page: polls /dev/panes, swaps in the panes that changed, and turns clicks
// and forms into POSTs to /dev/*, which the server sends on as Slack or a mail provider would.
"use strict";
(() => {
  const state = {
    person: localStorage.getItem("hitlbot.person") || "",
    conversation: "",
    thread: "",
    replyTs: null,
    mailReplyTo: null,
    modalId: null,
  };
  const $ = (selector) => document.querySelector(selector);
  const shown = {};
  const personSelect = $("#person");
  if (state.person && [...personSelect.options].some((o) => o.value === state.person)) {
    personSelect.value = state.person;
  }
  state.person = personSelect.value;

  function toast(text) {
    const el = $("#toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
  }

  async function post(path, body) {
    const reply = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const data = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      toast(`${reply.status}: ${data.detail || "refused"}`);
    } else if (data.status >= 300) {
      toast(`the app answered ${data.status}: ${JSON.stringify(data.body)}`);
    }
    refresh();
    return data;
  }

  function swap(id, html) {
    if (shown[id] === html) return;
    shown[id] = html;
    const el = document.getElementById(id);
    const keep = el.scrollTop;
    el.innerHTML = html;
    el.scrollTop = id === "slack" ? el.scrollHeight : keep;
    const messages = el.querySelector(".messages");
    if (messages) messages.scrollTop = messages.scrollHeight;
  }

  function showModal(modal) {
    const root = $("#modal-root");
    if (!modal) {
      if (state.modalId) { root.innerHTML = ""; state.modalId = null; }
      return;
    }
    if (modal.id === state.modalId) return; // keep what the person is typing
    state.modalId = modal.id;
    root.innerHTML = modal.html;
    const field = root.querySelector("textarea, input");
    if (field) field.focus();
  }

  let inflight = false;
  async function refresh() {
    if (inflight) { refresh.again = true; return; }
    inflight = true;
    try {
      const asked = { person: state.person, conversation: state.conversation, thread: state.thread };
      const reply = await fetch(`/dev/panes?${new URLSearchParams(asked)}`);
      // The person may have switched person, channel or thread meanwhile: that answer is stale.
      const stale = Object.keys(asked).some((key) => asked[key] !== state[key]);
      if (reply.ok && !stale) {
        const panes = await reply.json();
        for (const id of ["slack", "mail", "threads", "timeline"]) swap(id, panes[id]);
        showModal(panes.modal);
        const current = document.querySelector(".messages");
        if (current && !state.conversation) state.conversation = current.dataset.current;
      } else if (stale) {
        refresh.again = true;
      }
    } finally {
      inflight = false;
      if (refresh.again) { refresh.again = false; refresh(); }
    }
  }

  function setReply(ts) {
    state.replyTs = ts;
    $("#reply-target").hidden = !ts;
    $("#composer-text").focus();
  }

  personSelect.addEventListener("change", () => {
    state.person = personSelect.value;
    localStorage.setItem("hitlbot.person", state.person);
    // Stay in the channel; only a direct message is the previous person's own.
    if (state.conversation.startsWith("D")) state.conversation = "";
    setReply(null);
    refresh();
  });
  $("#reply-cancel").addEventListener("click", () => setReply(null));
  $("#mail-reply-cancel").addEventListener("click", () => {
    state.mailReplyTo = null;
    $("#mail-reply-target").hidden = true;
  });

  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-click], [data-stop], [data-conversation], [data-reply], [data-select-thread], [data-mail-reply], [data-modal-close]");
    if (!target) return;
    event.preventDefault();
    if (target.dataset.stop !== undefined) {
      target.disabled = true;
      post("/dev/slack/stop", {
        user: state.person, channel: state.conversation, thread_ts: target.dataset.stop,
      }).finally(() => { target.disabled = false; });
    } else if (target.dataset.click !== undefined) {
      const msg = target.closest(".msg");
      target.disabled = true; // one click, one request, as in Slack
      post("/dev/slack/click", {
        user: state.person, channel: msg.dataset.channel, ts: msg.dataset.ts,
        action_id: target.dataset.click,
      }).finally(() => { target.disabled = false; });
    } else if (target.dataset.conversation) {
      state.conversation = target.dataset.conversation;
      setReply(null);
      refresh();
    } else if (target.dataset.reply) {
      setReply(target.dataset.reply);
    } else if (target.dataset.selectThread) {
      state.thread = target.dataset.selectThread;
      refresh();
    } else if (target.dataset.mailReply) {
      state.mailReplyTo = target.dataset.mailReply;
      const banner = $("#mail-reply-target");
      banner.querySelector("span").textContent = target.dataset.subject;
      banner.hidden = false;
      $("#mail-text").value = "";
      $("#mail-text").focus();
    } else if (target.dataset.modalClose !== undefined) {
      post("/dev/slack/close", { user: state.person, view_id: state.modalId });
    }
  });

  document.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (form.id === "composer") {
      const text = $("#composer-text").value;
      if (!text.trim()) return;
      $("#composer-text").value = "";
      await post("/dev/slack/post", {
        user: state.person, channel: state.conversation, text, thread_ts: state.replyTs,
      });
    } else if (form.id === "mail-compose") {
      const text = $("#mail-text").value;
      if (state.mailReplyTo) {
        await post("/dev/mail/reply", { message_id: state.mailReplyTo, text });
        state.mailReplyTo = null;
        $("#mail-reply-target").hidden = true;
      } else {
        await post("/dev/mail/send", {
          sender: $("#mail-from").value, subject: $("#mail-subject").value, text,
        });
      }
    } else if (form.classList.contains("modal")) {
      // Each input sends its own value, named block_id.action_id as the page drew it.
      const values = {};
      form.querySelectorAll("[name]").forEach((field) => { values[field.name] = field.value; });
      const data = await post("/dev/slack/submit", {
        user: state.person, view_id: form.dataset.view, values,
      });
      const errors = data.body && data.body.response_action === "errors" ? data.body.errors : null;
      form.querySelectorAll(".bk-input-error").forEach((box) => { box.hidden = true; });
      const box = form.querySelector(".modal-error");
      box.hidden = true;
      if (errors) {
        const unplaced = [];
        for (const [blockId, message] of Object.entries(errors)) {
          const slot = [...form.querySelectorAll(".bk-input-error")]
            .find((el) => el.dataset.errorFor === blockId);
          if (slot) { slot.textContent = message; slot.hidden = false; } else unplaced.push(message);
        }
        if (unplaced.length) { box.textContent = unplaced.join("; "); box.hidden = false; }
      }
    }
  });

  $("#composer-text").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("#composer").requestSubmit();
    }
  });

  refresh();
  setInterval(refresh, 700);
})();
