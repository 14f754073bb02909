// Deadlines on what a client owes us, so that a slow client cannot hold a session for ever.
// smtp-server's socketTimeout counts idle time only: one byte every 10 s keeps a session open
// indefinitely (slow loris), in a command line or inside DATA. Two deadlines are measured here,
// neither extended by the bytes that trickle in:
//
// - the command deadline: once we have answered, the client's next command line must be complete
//   within it (RFC 5321 §4.5.3.2.7: a server awaits the next command for at least 5 minutes);
// - the DATA deadline: after 354, the whole message up to the final "." must arrive within it
//   (RFC 5321 §4.5.3.2 gives the client 3 minutes per block and 10 for the whole; we give the
//   server side the same 10 minutes for the whole transfer).
//
// Time we spend on our side (an AUTH lookup, acceptance after the final ".") is not counted: the
// clock stops when a command line is complete or the message is in, and starts again when we
// answer. This is Postfix's smtpd_per_record_deadline, applied per command line and per message.
// A session past a deadline is told 421 4.4.2 and closed (RFC 5321 §3.8, §4.2.2).
import type { SmtpConnection } from "./smtp-server.base.js";
import { EDGE_REPLIES } from "./smtp.errors-map.js";

/** RFC 5321 §4.5.3.2.7: 5 minutes for the next command. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5 * 60_000;
/** RFC 5321 §4.5.3.2.6's 10 minutes, for the whole DATA transfer. */
export const DEFAULT_DATA_TIMEOUT_MS = 10 * 60_000;

export interface SessionDeadlines {
  commandTimeoutMs: number;
  dataTimeoutMs: number;
}

/** smtp-server's connection internals this relies on (3.21): the command entry point and the parser's mode. */
interface ConnectionInternals {
  _onCommand(command: Buffer, callback?: () => void): void;
  _parser: { _dataMode: boolean } | false | null;
  _closing: boolean;
  _closed: boolean;
}

/**
 * Arms the deadlines on a new connection: after every reply of ours (the command deadline; after
 * 354 the DATA deadline instead), cleared when the command line is complete.
 */
export function enforceDeadlines(connection: SmtpConnection, deadlines: SessionDeadlines, onExpired: (phase: "command" | "data") => void): void {
  const internals = connection as unknown as ConnectionInternals;
  let timer: NodeJS.Timeout | null = null;
  const clear = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  const arm = (phase: "command" | "data") => {
    clear();
    timer = setTimeout(() => {
      timer = null;
      if (internals._closing || internals._closed) return;
      // The final "." is in and we have not answered yet: the wait is ours, not the client's.
      if (phase === "data" && !(internals._parser && internals._parser._dataMode)) return;
      onExpired(phase);
      const reply = phase === "data" ? EDGE_REPLIES.dataTimeout : EDGE_REPLIES.commandTimeout;
      connection.send(reply.code, `${reply.enhanced} ${reply.text}`, false); // 421 closes the session
    }, phase === "data" ? deadlines.dataTimeoutMs : deadlines.commandTimeoutMs);
    timer.unref();
  };

  const onCommand = internals._onCommand.bind(connection);
  internals._onCommand = (command, callback) => {
    clear();
    onCommand(command, callback);
  };
  const send = connection.send.bind(connection);
  connection.send = (code, data, context) => {
    send(code, data, context);
    if (code === 421 || internals._closing || internals._closed) clear();
    else if (code === 354) arm("data");
    else arm("command");
  };
}
