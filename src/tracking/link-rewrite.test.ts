import { test } from "node:test";
import assert from "node:assert/strict";
import { addOpenPixel, trackHtmlLinks, trackTextLinks } from "./link-rewrite.js";

const mark = (url: string) => `T(${url})`;

test("HTML: hrefs of a and area elements in every quoting are tracked; other links and opted-out anchors are not", () => {
  const html = [
    '<a href="https://a.example/1?x=1&amp;y=2">1</a>',
    "<A HREF='http://a.example/2'>2</A>",
    "<a class=x href=https://a.example/3>3</a>",
    '<area shape="rect" href="https://a.example/4">',
    '<a href="mailto:x@a.example">m</a>',
    '<a href="#top">t</a>',
    '<a data-pm-no-track href="https://a.example/5">5</a>',
    '<img src="https://a.example/img.png">',
    '<a href="{{url}}">tpl</a>',
  ].join("");
  const out = trackHtmlLinks(html, mark);
  assert.match(out, /href="T\(https:\/\/a\.example\/1\?x=1&y=2\)"/);
  assert.match(out, /HREF="T\(http:\/\/a\.example\/2\)"/);
  assert.match(out, /href="T\(https:\/\/a\.example\/3\)"/);
  assert.match(out, /href="T\(https:\/\/a\.example\/4\)"/);
  for (const kept of ['href="mailto:x@a.example"', 'href="#top"', 'href="https://a.example/5"', 'src="https://a.example/img.png"', 'href="{{url}}"']) assert.ok(out.includes(kept), kept);
});

test("text: URLs are tracked without the sentence punctuation around them", () => {
  const text = "Go to https://a.example/x. Or (https://a.example/y), or https://a.example/wiki/A_(b)! mailto:x@a.example";
  assert.equal(trackTextLinks(text, mark), "Go to T(https://a.example/x). Or (T(https://a.example/y)), or T(https://a.example/wiki/A_(b))! mailto:x@a.example");
});

test("the open pixel goes before the last </body>, or at the end", () => {
  assert.match(addOpenPixel("<html><body><p>x</p></body></html>", "https://t.example/o/1"), /<p>x<\/p><img src="https:\/\/t\.example\/o\/1"[^>]*\/><\/body><\/html>$/);
  assert.match(addOpenPixel("<p>x</p>", "https://t.example/o/1"), /^<p>x<\/p><img /);
});

test("hostile bodies take linear time: many unclosed anchors, many </body>, a huge URL", () => {
  const started = Date.now();
  trackHtmlLinks("<a href=x ".repeat(200_000), mark);
  addOpenPixel("</body>".repeat(200_000), "https://t.example/o/1");
  trackTextLinks(`https://a.example/${")".repeat(1_000_000)}`, mark);
  trackTextLinks("https://a.example/x ".repeat(50_000), mark);
  assert.ok(Date.now() - started < 2_000, `took ${Date.now() - started} ms`);
});
