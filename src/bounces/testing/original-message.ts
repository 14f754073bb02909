// What every bounce and complaint fixture answers: the message our MTA sent (envelope sender
// FIXTURE_RETURN_PATH, a VERP address, and Message-ID <FIXTURE_MESSAGE_ID>), as a remote server
// returns it, and the CRLF conversion the fixtures share.

export const FIXTURE_RETURN_PATH = "bounce+2s9k.4f1c09a2be@bounces.posthorn.test";
export const FIXTURE_MESSAGE_ID = "0190f3c2-7b1e-7c4a-9d2f-5e8a1b3c4d6e@posthorn.test";

/** Turns "\n" (and any stray CRLF) into CRLF. */
export function crlf(text: string): string {
  return text.replace(/\r?\n/g, "\r\n");
}

export interface OriginalOptions {
  to: string;
  returnPath?: string;
  messageId?: string;
  /** The receiving MTA adds Return-Path only at final delivery; a relay's copy has none. */
  withReturnPath?: boolean;
  /** Headers only, as in text/rfc822-headers. */
  headersOnly?: boolean;
}

/** The message we sent, as the remote server returns it. */
export function original(opts: OriginalOptions): string {
  const returnPath = opts.returnPath ?? FIXTURE_RETURN_PATH;
  const head = `${opts.withReturnPath === false ? "" : `Return-Path: <${returnPath}>\n`}Received: from mta1.posthorn.test (mta1.posthorn.test [192.0.2.10])
\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))
\tby mx.remote.example with ESMTPS id 4WJk2x0q9Zz3wLm
\tfor <${opts.to}>; Mon,  8 Jul 2024 10:13:52 +0000 (UTC)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=posthorn.test; s=ph1;
\th=from:to:subject:date:message-id; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;
\tb=dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ==
From: Acme Billing <billing@posthorn.test>
To: <${opts.to}>
Subject: Your invoice #1042
Date: Mon, 08 Jul 2024 10:13:51 +0000
Message-ID: <${opts.messageId ?? FIXTURE_MESSAGE_ID}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit
`;
  return opts.headersOnly ? head : `${head}\nHello, your invoice #1042 for $42.00 is ready.\n`;
}
