// The messages the load generator sends: ~2 KB Postmark messages (one To, a subject, a plain
// text body of a fixed size), each distinct, serialized before the measurement starts.

const WORDS =
  "the quick brown fox jumps over the lazy dog while posthorn delivers your receipt order shipped invoice attached thanks for your purchase reply to this message if anything looks wrong".split(
    " ",
  );

/** A plain-text body of exactly `bytes` ASCII bytes, in lines of at most 72 characters, starting with the message number. */
export function textBody(n: number, bytes: number): string {
  let text = `Hello user ${n},\n\n`;
  let line = "";
  let w = n;
  while (text.length + line.length < bytes) {
    const word = WORDS[w++ % WORDS.length]!;
    if (line.length + word.length + 1 > 72) {
      text += `${line}\n`;
      line = "";
    }
    line += line ? ` ${word}` : word;
  }
  return (text + line).slice(0, bytes);
}

export interface PostmarkMessage {
  From: string;
  To: string;
  Subject: string;
  TextBody: string;
}

export function benchMessage(runId: string, n: number, textBodyBytes: number): PostmarkMessage {
  return {
    From: "app@bench.test",
    To: `user${n}@example.test`,
    Subject: `Posthorn bench ${runId}: message ${n}`,
    TextBody: textBody(n, textBodyBytes),
  };
}

/**
 * Request bodies for `count` requests of `perRequest` messages each, numbered from `first`.
 * With perRequest = 1 and single = true each body is one message object (POST /email).
 */
export function requestBodies(options: { runId: string; first: number; count: number; perRequest: number; single: boolean; textBodyBytes: number }): Buffer[] {
  const bodies: Buffer[] = new Array(options.count);
  let n = options.first;
  for (let r = 0; r < options.count; r++) {
    if (options.single) {
      bodies[r] = Buffer.from(JSON.stringify(benchMessage(options.runId, n++, options.textBodyBytes)));
    } else {
      const batch: PostmarkMessage[] = new Array(options.perRequest);
      for (let i = 0; i < options.perRequest; i++) batch[i] = benchMessage(options.runId, n++, options.textBodyBytes);
      bodies[r] = Buffer.from(JSON.stringify(batch));
    }
  }
  return bodies;
}
