// Preload (NODE_OPTIONS=--import=…): shifts this process's wall clock, Date, by CLOCK_JUMP_MS once
// CLOCK_JUMP_AFTER_MS have passed, as an NTP step or a VM resume would. Timers keep running on the
// monotonic clock, as they do in Node.js.
const RealDate = Date;
const jumpMs = Number(process.env.CLOCK_JUMP_MS ?? 0);
const afterMs = Number(process.env.CLOCK_JUMP_AFTER_MS ?? 0);
const started = performance.now();
const offset = () => (performance.now() - started >= afterMs ? jumpMs : 0);

class JumpingDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + offset());
    else super(...args);
  }

  static now() {
    return RealDate.now() + offset();
  }
}

globalThis.Date = JumpingDate;
