// The SVG tend draws itself (`tend graph`, `tend analyze plot`): every piece of text
// escaped here, since service names, descriptions and event patterns are a user's
// words; a few primitives as strings; the width text takes, for sizing to content.
// Text is set in a monospace face so that its width is known from its length.

/** Text as XML character data or an attribute's value (quoted with `"`): nothing in it is markup. */
export function escapeXml(text: string): string {
  // Characters XML 1.0 forbids even escaped (C0 controls but tab, LF, CR; lone surrogates; U+FFFE/F) become U+FFFD.
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** The font every text of tend's pictures uses, and the width of one of its characters per pixel of size. */
export const FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace";
const CHARACTER_WIDTH = 0.61;

/** How wide `text` is at `size` px (monospace: its length, in code points, times a character's width). */
export const textWidth = (text: string, size: number): number => [...text].length * size * CHARACTER_WIDTH;

/** `text` cut to at most `max` characters, an ellipsis marking the cut. */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(1, max - 1)).join("")}…`;
}

/** A number as an attribute wants it: at most one decimal. */
export const num = (x: number): string => (Math.round(x * 10) / 10).toString();

type Attributes = Record<string, string | number | undefined>;

/** The attributes as ` key="value"`, values escaped; undefined ones left out. */
export function attributes(attrs: Attributes): string {
  let out = "";
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    out += ` ${key}="${typeof value === "number" ? num(value) : escapeXml(value)}"`;
  }
  return out;
}

/** An element with no content. */
export const element = (name: string, attrs: Attributes): string => `<${name}${attributes(attrs)}/>`;

/** A text element: `content` is escaped. */
export const text = (x: number, y: number, content: string, attrs: Attributes = {}): string =>
  `<text${attributes({ x, y, ...attrs })}>${escapeXml(content)}</text>`;

/** A tooltip for the element it is the first child of. */
export const title = (content: string): string => `<title>${escapeXml(content)}</title>`;

/** The whole document: sized to `width` × `height`, a white background, the default font, then `body`; `style` is tend's own CSS, never a user's text. */
export function svgDocument(width: number, height: number, body: string[], style = ""): string {
  const w = Math.ceil(width);
  const h = Math.ceil(height);
  const head = [`<?xml version="1.0" encoding="UTF-8"?>`, `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${escapeXml(FONT_FAMILY)}">`];
  if (style !== "") head.push(`<style>${style}</style>`);
  return [...head, `<rect width="100%" height="100%" fill="#ffffff"/>`, ...body, `</svg>`, ""].join("\n");
}
