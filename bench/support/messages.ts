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

/** The template the templated scenarios send with (bench/template.scenario.ts creates it). */
export const BENCH_TEMPLATE = {
  Name: "Bench",
  Alias: "bench",
  Subject: "Posthorn bench {{run}}: message {{n}}",
  TextBody: "{{greeting}} {{n}},\n\n{{{body}}}\n\n{{#order}}Order {{number}} of {{customer.name}}{{/order}}",
};

/** The same content as benchMessage, made by BENCH_TEMPLATE from a model. */
export function templatedBenchMessage(runId: string, n: number, textBodyBytes: number) {
  return {
    From: "app@bench.test",
    To: `user${n}@example.test`,
    TemplateAlias: BENCH_TEMPLATE.Alias,
    TemplateModel: { run: runId, n, greeting: "Hello user", body: textBody(n, textBodyBytes), order: { number: n, customer: { name: `user${n}` } } },
  };
}

/**
 * Request bodies for `count` requests of `perRequest` messages each, numbered from `first`.
 * With perRequest = 1 and single = true each body is one message object (POST /email).
 */
export function requestBodies(options: { runId: string; first: number; count: number; perRequest: number; single: boolean; textBodyBytes: number; templated?: boolean }): Buffer[] {
  const bodies: Buffer[] = new Array(options.count);
  let n = options.first;
  for (let r = 0; r < options.count; r++) {
    if (options.templated) {
      const make = () => templatedBenchMessage(options.runId, n++, options.textBodyBytes);
      bodies[r] = Buffer.from(JSON.stringify(options.single ? make() : { Messages: Array.from({ length: options.perRequest }, make) }));
      continue;
    }
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
