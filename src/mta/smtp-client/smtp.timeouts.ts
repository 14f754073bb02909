// How long an SMTP client waits for each reply, per phase, as RFC 5321 §4.5.3.2 recommends, and
// the bookkeeping that applies them to one connection.
//
// nodemailer has one inactivity timer for the whole session (socketTimeout). Using it as is means
// either the 10 minutes the RFC allows only for the end of DATA everywhere (a silent server then
// holds a connection slot for 10 minutes at MAIL), or a short value everywhere (and a big message
// that the server takes minutes to scan is given up and sent again). PhaseTimer instead sets the
// socket's inactivity timeout, command by command, to the limit of the reply awaited first.

export interface SmtpTimeouts {
  /** TCP connect. RFC 5321 sets none; 30 s like Postfix's smtp_connect_timeout, so a dead MX
   *  does not hold a slot for the minutes an OS connect timeout takes. */
  connectMs: number;
  /** The 220 greeting (§4.5.3.2.1: 5 minutes); EHLO and a STARTTLS handshake get as long each. */
  greetingMs: number;
  /** Reply to MAIL (§4.5.3.2.2: 5 minutes). Also used for RSET, for which the RFC names none. */
  mailMs: number;
  /** Reply to each RCPT (§4.5.3.2.3: 5 minutes). */
  rcptMs: number;
  /** The 354 reply to DATA (§4.5.3.2.4: 2 minutes). */
  dataInitMs: number;
  /** Each write of the message body going through (§4.5.3.2.5: 3 minutes per TCP send). */
  dataBlockMs: number;
  /** Reply to the final "." (§4.5.3.2.6: 10 minutes: the server may scan the message first, and
   *  giving up early makes a duplicate likely, since the server may still accept it). */
  dataEndMs: number;
}

export const DEFAULT_SMTP_TIMEOUTS: Readonly<SmtpTimeouts> = Object.freeze({
  connectMs: 30_000,
  greetingMs: 300_000,
  mailMs: 300_000,
  rcptMs: 300_000,
  dataInitMs: 120_000,
  dataBlockMs: 180_000,
  dataEndMs: 600_000,
});

export function resolveTimeouts(partial: Partial<SmtpTimeouts> | undefined): SmtpTimeouts {
  const merged = { ...DEFAULT_SMTP_TIMEOUTS };
  for (const [key, value] of Object.entries(partial ?? {}) as Array<[keyof SmtpTimeouts, number | undefined]>) {
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/** What the client waits for, named as in RFC 5321 §4.5.3.2, with its limit. */
export interface Phase {
  name: string;
  ms: number;
}

/** The phase of waiting for the reply to one command line. */
export function phaseOfCommand(line: string, t: SmtpTimeouts): Phase {
  const verb = /^\S*/.exec(line)?.[0].toUpperCase() ?? "";
  switch (verb) {
    case "MAIL":
      return { name: "MAIL", ms: t.mailMs };
    case "RCPT":
      return { name: "RCPT", ms: t.rcptMs };
    case "DATA":
      return { name: "DATA initiation", ms: t.dataInitMs };
    case "EHLO":
    case "HELO":
    case "STARTTLS":
      return { name: verb, ms: t.greetingMs };
    default:
      return { name: verb || "command", ms: t.mailMs };
  }
}

/**
 * Keeps a connection's inactivity timeout at the limit of the oldest reply still awaited. With
 * PIPELINING (RFC 2920) MAIL, every RCPT and DATA go out together; their replies come back in
 * order, so the head of the queue is always the one the server owes next.
 */
export class PhaseTimer {
  private readonly awaiting: Phase[] = [];
  private active: Phase | null = null;

  constructor(
    private readonly timeouts: SmtpTimeouts,
    /** Sets the inactivity timeout of the connection's current socket (plain or TLS). */
    private readonly setInactivityTimeout: (ms: number) => void,
  ) {}

  /** The phase whose limit is running, for the message of a timeout error. */
  get current(): Phase | null {
    return this.active;
  }

  commandSent(line: string): void {
    this.awaiting.push(phaseOfCommand(line, this.timeouts));
    if (this.awaiting.length === 1) this.arm(this.awaiting[0]!);
  }

  replyReceived(): void {
    this.awaiting.shift();
    const next = this.awaiting[0];
    if (next) this.arm(next);
    else this.idle();
  }

  /** The server answered 354 and the body is being written. */
  bodyStarted(): void {
    this.arm({ name: "data block", ms: this.timeouts.dataBlockMs });
  }

  /** The body and its terminating "." are written: the final reply is awaited. */
  bodyEnded(): void {
    this.awaiting.push({ name: "DATA termination", ms: this.timeouts.dataEndMs });
    if (this.awaiting.length === 1) this.arm(this.awaiting[0]!);
  }

  /** Nothing awaited: the pool's idle timer decides, this only bounds a stuck socket. */
  private idle(): void {
    this.active = null;
    this.setInactivityTimeout(this.timeouts.dataEndMs);
  }

  private arm(phase: Phase): void {
    this.active = phase;
    this.setInactivityTimeout(phase.ms);
  }
}
