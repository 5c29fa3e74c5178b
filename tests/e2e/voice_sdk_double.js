// A stand-in for the Voice SDK's Device in the agent page (issue 17): loaded into the page before
// its scripts, it is the only thing replaced (the real twilio.min.js still loads and keeps an
// existing Twilio.Device). No Twilio signalling is reachable here, so the test plays Twilio's
// part through window.voiceDouble: it rings the registered device, raises device errors, and
// reads what the page did (the log). A call the page places (device.connect) is logged; the test
// places it through the stand-in's TwiML App and tells the double its CallSid (connected), as
// Twilio's "accept" of an outgoing call does.
(function () {
  "use strict";
  const log = [];
  const devices = [];

  class Emitter {
    constructor() { this.handlers = {}; }
    on(name, handler) { (this.handlers[name] = this.handlers[name] || []).push(handler); return this; }
    emit(name, ...args) { for (const handler of this.handlers[name] || []) handler(...args); }
  }

  class Call extends Emitter {
    constructor(parameters) {
      super();
      this.parameters = parameters;
      this.muted = false;
      this.state = "pending";
    }
    accept() { this.state = "open"; log.push(["accept", this.parameters.CallSid]); setTimeout(() => this.emit("accept", this), 0); }
    reject() { this.state = "closed"; log.push(["reject", this.parameters.CallSid]); setTimeout(() => this.emit("reject"), 0); }
    ignore() { this.state = "closed"; log.push(["ignore", this.parameters.CallSid]); }
    disconnect() {
      if (this.state === "closed") return;
      this.state = "closed";
      log.push(["disconnect", this.parameters.CallSid]);
      setTimeout(() => this.emit("disconnect", this), 0);
    }
    mute(shouldMute = true) { this.muted = shouldMute; log.push(["mute", shouldMute]); this.emit("mute", shouldMute, this); }
    isMuted() { return this.muted; }
    sendDigits(digits) { log.push(["digits", digits]); }
    status() { return this.state; }
  }

  class Device extends Emitter {
    constructor(token, options) {
      super();
      this.token = token;
      this.options = options;
      this.state = "unregistered";
      devices.push(this);
      log.push(["device", token]);
    }
    register() {
      log.push(["register"]);
      return new Promise((resolve) => setTimeout(() => {
        if (this.state === "destroyed") return resolve();
        this.state = "registered";
        this.emit("registered");
        resolve();
      }, 0));
    }
    unregister() { this.state = "unregistered"; log.push(["unregister"]); this.emit("unregistered"); return Promise.resolve(); }
    connect(options) {
      const params = (options && options.params) || {};
      log.push(["connect", params]);
      if (refusal) {
        const error = refusal;
        refusal = null;
        return Promise.reject(error);
      }
      outgoing = new Call({});
      outgoing.customParameters = new Map(Object.entries(params));
      return Promise.resolve(outgoing);
    }
    updateToken(token) { this.token = token; log.push(["updateToken", token]); }
    destroy() { this.state = "destroyed"; log.push(["destroy"]); this.emit("destroyed"); }
  }

  const registered = () => devices.filter((device) => device.state === "registered").pop() || null;
  let ringing = null;
  let outgoing = null; // the page's own call (device.connect)
  let refusal = null; // the error the next connect() rejects with
  const twilioError = (code, message) => Object.assign(new Error(message), { code, name: "TwilioError" });

  window.voiceDouble = {
    log,
    registered() { const device = registered(); return device ? { token: device.token, options: device.options } : null; },
    ring(parameters) {
      const device = registered();
      if (!device) return false;
      ringing = new Call(parameters);
      device.emit("incoming", ringing);
      return true;
    },
    remoteHangUp() { if (ringing) ringing.disconnect(); },
    connected(callSid) {
      // Twilio connected the page's outgoing call (its leg is CallSid): the SDK's "accept"
      if (!outgoing || outgoing.state !== "pending") return false;
      outgoing.parameters = { CallSid: callSid };
      outgoing.state = "open";
      outgoing.emit("accept", outgoing);
      return true;
    },
    refuseConnect(code, message) { refusal = twilioError(code, message); },
    cancelRinging() {
      // Twilio stopped ringing this browser before it answered (the SDK's "cancel")
      if (!ringing || ringing.state !== "pending") return false;
      ringing.state = "closed";
      log.push(["cancel", ringing.parameters.CallSid]);
      ringing.emit("cancel");
      return true;
    },
    fail(code, message) {
      const device = registered();
      if (!device) return false;
      const error = new Error(message);
      error.code = code;
      error.name = "TwilioError";
      device.emit("error", error, ringing);
      return true;
    },
    lose() {
      // the signalling connection drops: the SDK unregisters the device by itself
      const device = registered();
      if (!device) return false;
      device.state = "unregistered";
      device.emit("unregistered");
      return true;
    },
    tokenWillExpire() { const device = registered(); if (device) device.emit("tokenWillExpire", device); return !!device; },
  };
  Device.isTestDouble = true;
  window.Twilio = { Device };
})();
