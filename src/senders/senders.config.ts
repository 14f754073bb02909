// Configuration of sender signatures and the From rule of acceptance.
import { z } from "zod";
import { parseDuration } from "../shared/durations.js";
import { configFragment, duration, flag } from "../config/config.fragment.js";

export interface SendersConfigPart {
  senders: {
    /** The From rule (messages/accept/sender.step.ts); off for relay-only installations. */
    requireVerifiedFrom: boolean;
    /** The From address of Posthorn's own mail (sender-signature confirmations). */
    systemFrom: string;
    /** The workspace Posthorn's own mail is accepted in; created live on first use. */
    systemWorkspace: string;
    /** Where confirmation links point: the HTTP listener as the outside world reaches it. */
    confirmationBaseUrl: string;
    /** Least time between two confirmation mails of one signature. */
    resendIntervalMs: number;
  };
}

export const sendersConfig = configFragment({
  name: "senders",
  keys: {
    /**
     * A live workspace may send only From a confirmed sender signature or an address on a
     * DKIM-verified sending domain. false turns the rule off (relay-only installations).
     */
    POSTHORN_REQUIRE_VERIFIED_FROM: flag(true),
    /** From address of Posthorn's own mail (sender-signature confirmations); default posthorn@POSTHORN_HOSTNAME. */
    POSTHORN_SYSTEM_FROM: z.string().regex(/^[^\s@<>]+@[A-Za-z0-9.-]+$/, "must be a plain email address").optional(),
    /** The workspace Posthorn's own mail is accepted and delivered in; created (live) on first use. */
    POSTHORN_SYSTEM_WORKSPACE: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be a workspace name").default("posthorn-system"),
    /** Base URL of the links in confirmation mails (the HTTP listener as users reach it); default https://POSTHORN_HOSTNAME. */
    POSTHORN_SENDER_CONFIRMATION_URL: z.string().regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, "must be an http(s) URL without query").optional(),
    /** Least time between two confirmation mails of one sender signature (resend). */
    POSTHORN_SENDER_CONFIRMATION_INTERVAL: duration.default(parseDuration("3m")),
  },
  toConfig: (e, context): SendersConfigPart => ({
    senders: {
      requireVerifiedFrom: e.POSTHORN_REQUIRE_VERIFIED_FROM,
      systemFrom: e.POSTHORN_SYSTEM_FROM ?? `posthorn@${context.hostname}`,
      systemWorkspace: e.POSTHORN_SYSTEM_WORKSPACE,
      confirmationBaseUrl: e.POSTHORN_SENDER_CONFIRMATION_URL ?? `https://${context.hostname}`,
      resendIntervalMs: e.POSTHORN_SENDER_CONFIRMATION_INTERVAL,
    },
  }),
});
