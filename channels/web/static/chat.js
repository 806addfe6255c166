/* 退订助手 web chat: talks to Rasa's socket.io channel (session persistence on).
 * Every text from the user or the bot is put into the page with textContent, never as HTML. */
(function () {
  "use strict";

  var REFERENCE = /TD\d{8}[0-9A-HJKMNP-TV-Z]{6}/g;
  var STORAGE_KEY = "tdzs-chat-v1";
  // Control and invisible formatting characters, as channels/guard.py strips them on REST.
  var CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

  var config = JSON.parse(document.getElementById("chat-config").textContent);
  var t = config.strings;
  var byId = function (id) { return document.getElementById(id); };
  var log = byId("log");
  var scroller = byId("scroller");
  var input = byId("message");
  var typing = byId("typing");
  var connection = byId("connection");
  var toast = byId("toast");

  var storage = pickStorage();
  var state = load();
  var socket = null;
  var ready = false;       // true once the server confirmed our session on this connection
  var queue = [];          // messages typed while (re)connecting, sent after session_confirm
  var replyTimer = null;
  var toastTimer = null;

  // --- storage: the conversation survives a reload of the tab (sessionStorage) ---

  function pickStorage() {
    try {
      window.sessionStorage.setItem(STORAGE_KEY + "-probe", "1");
      window.sessionStorage.removeItem(STORAGE_KEY + "-probe");
      return window.sessionStorage;
    } catch (e) {
      return null;  // private mode or storage disabled: the conversation lives in memory only
    }
  }

  function load() {
    var empty = { sessionId: null, messages: [] };
    if (!storage) { return empty; }
    try {
      var saved = JSON.parse(storage.getItem(STORAGE_KEY) || "null");
      if (saved && Array.isArray(saved.messages)) {
        return {
          sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
          messages: saved.messages.filter(function (m) { return m && typeof m.text === "string"; })
        };
      }
    } catch (e) { /* a corrupt entry starts a new conversation */ }
    return empty;
  }

  // Verification codes and full phone numbers are not kept in the browser's storage.
  function maskForStorage(text) {
    return text
      .replace(/(^|\D)(1\d{2})\d{4}(\d{4})(?!\d)/g, "$1$2****$3")
      .replace(/(^|\D)\d{6}(?!\d)/g, "$1******");
  }

  function save() {
    if (!storage) { return; }
    var copy = {
      sessionId: state.sessionId,
      messages: state.messages.map(function (m) {
        return m.from === "user" ? Object.assign({}, m, { text: maskForStorage(m.text) }) : m;
      })
    };
    try { storage.setItem(STORAGE_KEY, JSON.stringify(copy)); } catch (e) { /* quota: keep going */ }
  }

  // --- rendering ---

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function copyButton(reference) {
    var button = element("button", "copy", t.copy);
    button.type = "button";
    button.setAttribute("aria-label", t.copy_label.replace("{reference}", reference));
    button.addEventListener("click", function () { copyText(reference, button); });
    return button;
  }

  // Plain text with every reference number shown as a selectable code plus a copy button.
  function appendText(parent, text) {
    var last = 0;
    text.replace(REFERENCE, function (reference, offset) {
      parent.appendChild(document.createTextNode(text.slice(last, offset)));
      var wrap = element("span", "reference");
      wrap.appendChild(element("code", "reference-number", reference));
      wrap.appendChild(copyButton(reference));
      parent.appendChild(wrap);
      last = offset + reference.length;
      return reference;
    });
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderMessage(message, index) {
    var item = element("li", "message from-" + message.from);
    var label = { user: t.you, bot: t.bot, system: t.notice }[message.from] || "";
    item.appendChild(element("span", "sr-only", label));
    var bubble = element("div", "bubble");
    appendText(bubble, message.text);
    item.appendChild(bubble);
    if (message.buttons && message.buttons.length) {
      var group = element("div", "quick-replies");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", t.quick_replies);
      message.buttons.forEach(function (choice) {
        var button = element("button", "quick-reply", choice.title);
        button.type = "button";
        button.disabled = Boolean(message.answered);
        button.addEventListener("click", function () {
          if (button.disabled) { return; }
          send(choice.payload, choice.title);
          input.focus();
        });
        group.appendChild(button);
      });
      item.appendChild(group);
    }
    item.dataset.index = String(index);
    return item;
  }

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function addMessage(message) {
    state.messages.push(message);
    save();
    log.appendChild(renderMessage(message, state.messages.length - 1));
    scrollToEnd();
  }

  // Choices belong to the question they answer: once the user says anything, they are spent.
  function retireQuickReplies() {
    var changed = false;
    state.messages.forEach(function (m) {
      if (m.buttons && m.buttons.length && !m.answered) { m.answered = true; changed = true; }
    });
    if (!changed) { return; }
    save();
    Array.prototype.forEach.call(log.querySelectorAll(".quick-reply"), function (b) {
      b.disabled = true;
    });
  }

  function renderAll() {
    log.textContent = "";
    state.messages.forEach(function (m, i) { log.appendChild(renderMessage(m, i)); });
    scrollToEnd();
  }

  function showTyping(on) {
    typing.hidden = !on;
    if (on) { scrollToEnd(); }
  }

  function setConnection(text) {
    connection.textContent = text || "";
    connection.hidden = !text;
  }

  function showToast(text) {
    toast.textContent = text;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toast.hidden = true; }, 2500);
  }

  // --- copying a reference number: Clipboard API, else a selection and execCommand ---

  function copyText(text, button) {
    var done = function () {
      button.textContent = "✓ " + t.copy;
      showToast(t.copied);
      setTimeout(function () { button.textContent = t.copy; }, 2000);
    };
    var failed = function () {
      selectReference(button);
      showToast(t.copy_failed);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {
        legacyCopy(text) ? done() : failed();
      });
    } else if (legacyCopy(text)) {
      done();
    } else {
      failed();
    }
  }

  function legacyCopy(text) {
    var area = element("textarea", "offscreen");
    area.value = text;
    area.setAttribute("readonly", "");
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function selectReference(button) {
    var code = button.parentNode.querySelector(".reference-number");
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // --- talking to the server ---

  function cleanText(text) {
    return String(text).replace(CONTROL, "").trim();
  }

  function armReplyTimer() {
    clearTimeout(replyTimer);
    replyTimer = setTimeout(function () {
      showTyping(false);
      addMessage({ from: "system", text: t.busy });
    }, config.replyTimeoutMs);
  }

  function emit(message) {
    socket.emit("user_uttered", { message: message, session_id: state.sessionId });
  }

  function flush() {
    while (ready && queue.length) { emit(queue.shift()); }
  }

  // `shown` is what the bubble says (a button's title); `payload` is what the bot receives.
  function send(payload, shown) {
    var message = cleanText(payload);
    if (!message) { return; }
    if (message.length > config.maxMessageChars) {
      addMessage({ from: "system", text: t.too_long.replace("{limit}", config.maxMessageChars) });
      return;
    }
    retireQuickReplies();
    if (shown !== null) { addMessage({ from: "user", text: cleanText(shown || message) }); }
    queue.push(message);
    showTyping(true);
    armReplyTimer();
    flush();
  }

  function quickReplies(data) {
    var raw = Array.isArray(data.quick_replies) ? data.quick_replies
      : Array.isArray(data.buttons) ? data.buttons : [];
    return raw.filter(function (b) {
      return b && typeof b.title === "string" && typeof b.payload === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; });
  }

  function onBotMessage(data) {
    if (!data || typeof data !== "object") { return; }
    var text = typeof data.text === "string" ? data.text : "";
    var buttons = quickReplies(data);
    if (!text && !buttons.length) { return; }  // attachments and custom payloads are not shown
    clearTimeout(replyTimer);
    showTyping(false);
    addMessage({ from: "bot", text: text, buttons: buttons });
  }

  function onSessionConfirm(data) {
    var id = data && typeof data === "object" ? data.session_id : data;
    if (typeof id !== "string" || !id) { return; }
    var isNew = state.sessionId !== id;
    if (isNew) {
      state.sessionId = id;
      save();
    }
    ready = true;
    setConnection("");
    if (isNew && !state.messages.length && config.initPayload) {
      send(config.initPayload, null);
    }
    flush();
  }

  // The session id is a bearer secret (whoever knows it can continue the conversation), so it
  // is 128 random bits from the browser's CSPRNG, as 32 hex characters.
  function newSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function connect() {
    // The server's origin and path; websocket first, long-polling if a proxy blocks it.
    socket = window.io({ path: config.socketPath, transports: ["websocket", "polling"] });
    socket.on("connect", function () {
      // A new conversation asks for a fresh random id; the server confirms it (or issues one).
      socket.emit("session_request", { session_id: state.sessionId || newSessionId() });
    });
    socket.on("session_confirm", onSessionConfirm);
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function () {
      ready = false;
      setConnection(t.reconnecting);
    });
    socket.on("connect_error", function () {
      ready = false;
      setConnection(t.reconnecting);
    });
  }

  function restart() {
    clearTimeout(replyTimer);
    showTyping(false);
    queue = [];
    state = { sessionId: null, messages: [] };
    save();
    renderAll();
    ready = false;
    setConnection(t.connecting);
    socket.disconnect();
    socket.connect();
    input.focus();
  }

  byId("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!cleanText(text)) { return; }
    input.value = "";
    send(text);
  });
  byId("human").addEventListener("click", function () {
    send(t.human_message);
    input.focus();
  });
  byId("restart").addEventListener("click", restart);

  renderAll();
  connect();
})();
