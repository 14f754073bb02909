// The process logger (pino). Secrets never reach it: tokens are hashed before they are stored and
// the config is redacted before it is printed; the redact paths below are a second line of defence.
import { pino, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

export function createLogger(level: string, name = "posthorn"): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ["token", "serverToken", "password", "*.password", "headers['x-postmark-server-token']", "headers['x-postmark-account-token']"],
      censor: "REDACTED",
    },
  });
}

/** A logger that drops everything, for tests and CLI commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
