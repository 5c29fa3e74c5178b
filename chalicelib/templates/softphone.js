"use strict";
// The agent's browser phone (issue 17), loaded by the agent page after Twilio's Voice SDK.
// While the agent can take calls (available, or on or just after a call) a Twilio.Device is
// registered with the token of GET v1/agent/voice-token, renewed before it expires. A call rings
// with the screen pop; the agent accepts or rejects, mutes, sends keys, hangs up; the outcome
// form shows once the call ends. An available agent also calls a number from here
// (device.connect through the TwiML App, #17): that call gets the same controls. A device error is said in words and sets the agent away, so
// the app gives the next call to someone who can take it.
(function () {
  const RINGABLE = ["available", "busy", "wrap-up"];
  const RENEW_BEFORE_MS = 60 * 1000; // the SDK's tokenWillExpire, a minute before the token runs out
  const MICROPHONE = [31401, 31402, 31208];
  const TOKEN = [20101, 20103, 20104, 20105, 20151, 20157, 31202, 31204, 31205, 31206, 31207];
  const NETWORK = [31003, 31005, 31009, 53000, 53001, 53405];
  const $ = (id) => document.getElementById(id);
  const show = (id, visible) => $(id).classList.toggle("hidden", !visible);

  function words(error) {
    const code = error && error.code;
    if (MICROPHONE.includes(code)) {
      return "Microphone refused: allow this page to use the microphone, then go available again.";
    }
    if (TOKEN.includes(code)) return "The phone's access expired or was refused: go available again.";
    if (NETWORK.includes(code)) {
      return "Network lost: the phone cannot reach Twilio. Check the connection, then go available again.";
    }
    return "Phone error" + (code ? " " + code : "") + ": " + ((error && error.message) || "unknown") + ".";
  }

  function clock(seconds) {
    const pad = (n) => String(n).padStart(2, "0");
    return pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
  }

  window.createSoftphone = function createSoftphone(desk) {
    let state = "off"; // off | starting | ready | phone (calls ring on a phone) | failed
    let status = null;
    let device = null;
    let call = null;
    let answeredAt = null;
    let ticker = null;
    // A warm transfer ringing or consulting: {to, callSid, since}; the desk's poll tells its end.
    let pending = null;
    let dialing = false; // device.connect asked, its Call not yet given

    const say = (text) => { $("phone-state").textContent = text; };

    async function token() {
      const { status: code, data } = await desk.api("GET", "v1/agent/voice-token");
      if (code === 200) return data;
      const refused = new Error((data && data.message) || "refused (" + code + ")");
      refused.error = data && data.error;
      throw refused;
    }

    async function start() {
      state = "starting";
      $("phone-error").textContent = "";
      show("phone-panel", true);
      say("Connecting the phone…");
      let granted;
      try {
        granted = await token();
      } catch (refused) {
        if (state !== "starting") return;
        if (refused.error === "phone_agent") { state = "phone"; say("Your calls ring on your phone."); return; }
        return broken("The phone's access token was refused: " + refused.message);
      }
      if (state !== "starting") return; // away or logged out meanwhile
      if (!window.Twilio || !window.Twilio.Device) return broken("The phone could not load: reload the page.");
      device = new window.Twilio.Device(granted.token, {
        closeProtection: true,
        codecPreferences: ["opus", "pcmu"],
        tokenRefreshMs: RENEW_BEFORE_MS,
      });
      device.on("registered", () => {
        if (state !== "starting") return;
        state = "ready";
        say("Phone ready: calls ring here (" + granted.identity + ").");
        renderDial();
      });
      device.on("unregistered", () => { if (state === "ready") broken(words({ code: 31009, message: "unregistered" })); });
      device.on("error", (error) => broken(words(error)));
      device.on("tokenWillExpire", renew);
      device.on("incoming", ringing);
      Promise.resolve(device.register()).catch((error) => broken(words(error)));
    }

    async function renew() {
      try {
        const granted = await token();
        if (device) device.updateToken(granted.token);
      } catch (refused) {
        broken("The phone's access token could not be renewed: " + refused.message);
      }
    }

    // A device that cannot take calls: say why, switch it off and set the agent away.
    function broken(text) {
      if (state === "off" || state === "failed") return;
      state = "failed";
      $("phone-error").textContent = text;
      say("Phone off.");
      teardown();
      awayIfRingable();
    }

    function awayIfRingable() {
      // busy cannot be left by hand: the agent is set away once the call is over (statusChanged)
      if (status === "available" || status === "wrap-up") desk.setStatus("away");
    }

    function teardown() {
      renderDial();
      if (call) finished(call, "The call was lost.");
      if (device) {
        const old = device;
        device = null;
        try { old.destroy(); } catch (ignored) { /* already gone */ }
      }
    }

    // The call's controls, an incoming or an outgoing one; ``ringing`` only for an incoming one.
    function begin(current, isRinging) {
      call = current;
      $("call-ended").textContent = "";
      $("digits-sent").textContent = "";
      $("call-control-result").textContent = "";
      show("ringing", isRinging);
      show("in-call", false);
      current.on("accept", () => answered(current));
      current.on("disconnect", () => finished(current));
      current.on("mute", (muted) => renderMute(muted));
      renderDial();
      desk.callLive(true); // the screen pop at once, the outcome form after the call
    }

    function ringing(incoming) {
      if (call || dialing) { incoming.reject(); return; } // one call at a time
      incoming.on("cancel", () => finished(incoming, "Missed: the caller hung up before you answered."));
      incoming.on("reject", () => finished(incoming, "Call rejected."));
      begin(incoming, true);
    }

    // "Call a number": Twilio asks the TwiML App's Voice URL with To, the app rings the customer.
    async function dial(event) {
      event.preventDefault();
      const to = $("dial-to").value.trim();
      $("dial-error").textContent = "";
      if (!to) { $("dial-error").textContent = "Type the number to call."; return; }
      if (!device || state !== "ready" || call || dialing) return;
      dialing = true;
      renderDial();
      let outgoing;
      try {
        outgoing = await device.connect({ params: { To: to } });
      } catch (error) {
        $("dial-error").textContent = "The call could not start: " + words(error);
        return;
      } finally {
        dialing = false;
        renderDial();
      }
      if (!device) { try { outgoing.disconnect(); } catch (ignored) { /* gone with the device */ } return; }
      outgoing.on("cancel", () => finished(outgoing, "The call ended before it was connected."));
      outgoing.on("error", (error) => { $("dial-error").textContent = words(error); });
      begin(outgoing, false);
      $("call-ended").textContent = "Calling " + to + "…";
    }

    // Shown to an available agent whose phone is ready; not usable during a call.
    function renderDial() {
      show("dial", state === "ready" && status === "available" || Boolean(call) || dialing);
      $("dial-call").disabled = Boolean(call) || dialing || state !== "ready";
      $("dial-to").disabled = Boolean(call) || dialing;
    }

    function answered(accepted) {
      if (accepted !== call) return;
      answeredAt = Date.now();
      $("call-ended").textContent = "";
      show("ringing", false);
      show("in-call", true);
      renderMute(false);
      $("call-timer").textContent = clock(0);
      ticker = setInterval(() => { $("call-timer").textContent = clock(elapsed()); }, 1000);
    }

    const elapsed = () => (answeredAt ? Math.round((Date.now() - answeredAt) / 1000) : 0);

    function finished(ended, message) {
      if (ended !== call) return;
      clearInterval(ticker);
      $("call-ended").textContent = message || "Call ended after " + clock(elapsed()) + ".";
      call = null;
      answeredAt = null;
      pending = null;
      renderTransfer();
      show("ringing", false);
      show("in-call", false);
      renderDial();
      desk.callLive(false);
    }

    function renderMute(muted) {
      $("mute").textContent = muted ? "Unmute" : "Mute";
      $("mute").classList.toggle("on", muted);
    }

    // Hold and transfer: the desk's call-control endpoints (conference calls); their answer in words.
    function done(path, data) {
      if (path === "hold") return "The caller is on hold, hearing music.";
      if (path === "unhold") return "The caller is back with you.";
      if (path === "transfer/complete") return "Transferred: " + data.agent_id + " has the caller now.";
      if (path === "transfer/cancel") return "Transfer cancelled: the caller is back with you.";
      return data.mode === "warm"
        ? "Ringing " + data.transfer_to + ": the caller is on hold; talk to them, then complete or cancel."
        : "Transferred to " + data.transfer_to + ": the caller waits on hold until they answer.";
    }

    async function control(path, body) {
      const { status: code, data } = await desk.api("POST", "v1/agent/call/" + path, body);
      const ok = code >= 200 && code < 300;
      if (ok && path === "transfer" && data.mode === "warm") {
        pending = { to: data.transfer_to, callSid: data.call_sid, since: Date.now() };
      } else if (ok && path.startsWith("transfer/")) {
        pending = null;
      }
      renderTransfer();
      controlResult(ok ? "ok" : "error", ok ? done(path, data || {}) : (data && data.message) || "Not available (" + code + ")");
    }

    function controlResult(kind, text) {
      $("call-control-result").className = kind;
      $("call-control-result").textContent = text;
    }

    // Complete and Cancel only while a warm transfer is under way; Transfer otherwise.
    function renderTransfer() {
      show("transfer-complete", Boolean(pending));
      show("transfer-cancel", Boolean(pending));
      show("transfer", !pending);
    }

    // The call on the desk as a poll begun at ``asked`` saw it: a warm transfer whose target
    // never took the call (no answer, declined, hung up) has ended with the caller back here.
    function callChanged(current, asked) {
      if (!pending || asked < pending.since) return; // a poll older than the transfer tells nothing
      if (current && current.call_sid === pending.callSid && current.transfer_to) return; // still ringing
      const { to, callSid } = pending;
      pending = null;
      renderTransfer();
      // the call still this agent's, nobody rung: back with the caller (else it went on to them)
      if (current && current.call_sid === callSid && call) {
        controlResult("error", to + " did not answer; the caller is back with you.");
      }
    }

    function transfer() {
      const to = $("transfer-to").value.trim();
      if (!to) { $("call-control-result").className = "error"; $("call-control-result").textContent = "Whom to? Type an agent or a group."; return; }
      const kind = $("transfer-kind").value;
      // an outside number (one the shop lists) is always cold: the agent cannot consult it
      control("transfer", { [kind]: to, mode: kind === "to_number" ? "cold" : $("transfer-mode").value });
    }

    $("accept").addEventListener("click", () => { if (call) call.accept(); });
    $("reject").addEventListener("click", () => { if (call) call.reject(); });
    $("hangup").addEventListener("click", () => { if (call) call.disconnect(); });
    $("mute").addEventListener("click", () => {
      if (!call) return;
      const muted = !call.isMuted();
      call.mute(muted);
      renderMute(muted);
    });
    document.querySelectorAll("[data-digit]").forEach((key) => key.addEventListener("click", () => {
      if (!call) return;
      call.sendDigits(key.dataset.digit);
      $("digits-sent").textContent += key.dataset.digit;
    }));
    $("dial").addEventListener("submit", dial);
    $("hold").addEventListener("click", () => control("hold"));
    $("unhold").addEventListener("click", () => control("unhold"));
    $("transfer").addEventListener("click", transfer);
    $("transfer-complete").addEventListener("click", () => control("transfer/complete"));
    $("transfer-cancel").addEventListener("click", () => control("transfer/cancel"));

    function stop(text) {
      state = "off";
      teardown();
      say(text);
    }

    renderTransfer();

    return {
      callChanged,
      statusChanged(next) {
        status = next;
        renderDial();
        const ringable = RINGABLE.includes(next);
        if (ringable && state === "off") start();
        else if (!ringable && state !== "off") stop("Phone off: calls ring here when you are available.");
        else if (state === "failed") awayIfRingable();
      },
      loggedOut() {
        status = null;
        stop("");
        show("phone-panel", false);
      },
    };
  };
})();
