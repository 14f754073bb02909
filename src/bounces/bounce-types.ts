// Postmark's bounce types (Type, TypeCode, Name), kept as data so the API, the classifier and
// the stats all read one table. Names marked unverified in the reference keep our wording.

export const BOUNCE_TYPES = {
  HardBounce: { code: 1, name: "Hard bounce", deactivates: true },
  Transient: { code: 2, name: "Message delayed", deactivates: false },
  Unsubscribe: { code: 16, name: "Unsubscribe request", deactivates: false },
  Subscribe: { code: 32, name: "Subscribe request", deactivates: false },
  AutoResponder: { code: 64, name: "Auto responder", deactivates: false },
  AddressChange: { code: 128, name: "Address change", deactivates: false },
  DnsError: { code: 256, name: "DNS error", deactivates: false },
  SpamNotification: { code: 512, name: "Spam notification", deactivates: false },
  OpenRelayTest: { code: 1024, name: "Open relay test", deactivates: false },
  Unknown: { code: 2048, name: "Unknown", deactivates: false },
  SoftBounce: { code: 4096, name: "Soft bounce", deactivates: false },
  VirusNotification: { code: 8192, name: "Virus notification", deactivates: false },
  ChallengeVerification: { code: 16384, name: "Spam challenge verification", deactivates: false },
  BadEmailAddress: { code: 100000, name: "Invalid email address", deactivates: false },
  SpamComplaint: { code: 100001, name: "Spam complaint", deactivates: true },
  ManuallyDeactivated: { code: 100002, name: "Manually deactivated", deactivates: true },
  Unconfirmed: { code: 100003, name: "Registration not confirmed", deactivates: false },
  Blocked: { code: 100006, name: "Sender blocked", deactivates: false },
  SMTPApiError: { code: 100007, name: "SMTP API error", deactivates: false },
  InboundError: { code: 100008, name: "Inbound error", deactivates: false },
  DMARCPolicy: { code: 100009, name: "DMARC policy", deactivates: false },
  TemplateRenderingFailed: { code: 100010, name: "Template rendering failed", deactivates: false },
} as const;

export type BounceType = keyof typeof BOUNCE_TYPES;

export function isBounceType(value: string): value is BounceType {
  return Object.hasOwn(BOUNCE_TYPES, value);
}
