// The markdown of tend's docs into man(7) roff, for the man pages (pages.ts): the
// subset those docs use, nothing more. Headings, paragraphs, lists (nested, bulleted
// or numbered, with paragraphs and code inside), fenced code, tables, and inline code,
// bold, emphasis and links. Tables become tagged paragraphs (a row's first cell the
// tag), so no preprocessor (tbl) is needed. Pure: text in, text out.

export type Block =
  | { kind: "heading"; level: number; text: string }
  | { kind: "paragraph"; text: string }
  | { kind: "code"; lines: string[] }
  | { kind: "table"; header: string[]; rows: string[][] }
  | { kind: "list"; ordered: boolean; items: { marker: string; blocks: Block[] }[] };

const indentOf = (line: string): number => line.length - line.trimStart().length;
const ITEM = /^(\s*)([-*]|\d+\.)\s+(.*)$/;
const FENCE = /^(\s*)```/;

/** The blocks of markdown `text`. */
export function parseMarkdown(text: string): Block[] {
  return blocks(text.replace(/\r\n/g, "\n").split("\n"));
}

function blocks(lines: string[]): Block[] {
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "") {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const indent = fence[1]!.length;
      const code: string[] = [];
      for (i++; i < lines.length && !FENCE.test(lines[i]!); i++) code.push(lines[i]!.slice(Math.min(indent, indentOf(lines[i]!))));
      i++; // the closing fence
      out.push({ kind: "code", lines: code });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      out.push({ kind: "heading", level: heading[1]!.length, text: heading[2]!.trim() });
      i++;
      continue;
    }
    if (line.trimStart().startsWith("|")) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.trimStart().startsWith("|"); i++) rows.push(cells(lines[i]!));
      const [header = [], ...rest] = rows;
      out.push({ kind: "table", header, rows: rest.filter((r) => !r.every((c) => /^:?-+:?$/.test(c))) });
      continue;
    }
    const item = ITEM.exec(line);
    if (item) {
      const base = item[1]!.length;
      const ordered = /\d/.test(item[2]!);
      const items: { marker: string; blocks: Block[] }[] = [];
      // Items at this indentation; an item holds what is indented past its marker, blank lines included.
      while (i < lines.length) {
        const m = ITEM.exec(lines[i]!);
        if (!m || m[1]!.length !== base || /\d/.test(m[2]!) !== ordered) break;
        const content = base + m[2]!.length + 1;
        const body = [m[3]!];
        for (i++; i < lines.length; i++) {
          const next = lines[i]!;
          if (next.trim() === "") {
            const after = lines.slice(i + 1).find((l) => l.trim() !== "");
            if (after === undefined || indentOf(after) < content) break;
            body.push("");
          } else if (indentOf(next) > base) {
            body.push(indentOf(next) >= content ? next.slice(content) : next.trimStart());
          } else break;
        }
        items.push({ marker: m[2]!, blocks: blocks(body) });
      }
      out.push({ kind: "list", ordered, items });
      continue;
    }
    const text: string[] = [];
    for (; i < lines.length && lines[i]!.trim() !== "" && !FENCE.test(lines[i]!) && !/^#{1,6}\s/.test(lines[i]!) && !ITEM.test(lines[i]!) && !lines[i]!.trimStart().startsWith("|"); i++) {
      text.push(lines[i]!.trim());
    }
    out.push({ kind: "paragraph", text: text.join(" ") });
  }
  return out;
}

/** The cells of a table row, split at the `|` that are not escaped (`\|`). */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, "").replace(/\|$/, "");
  return inner.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

/** Text escaped for roff: backslashes, hyphens as `\-` (copied, they stay ASCII), anything not ASCII as `\[uXXXX]`. */
export function escape(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\e";
    else if (ch === "-") out += "\\-";
    else if (code > 126 || code < 32) out += `\\[u${code.toString(16).toUpperCase().padStart(4, "0")}]`;
    else out += ch;
  }
  return out;
}

/** Inline markdown (code, bold, emphasis, links) into roff, escaped. */
export function inline(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === "`") {
      const ticks = /^`+/.exec(text.slice(i))![0];
      const end = text.indexOf(ticks, i + ticks.length);
      if (end > 0) {
        out += `\\fB${escape(text.slice(i + ticks.length, end).trim() || text.slice(i + ticks.length, end))}\\fR`;
        i = end + ticks.length;
        continue;
      }
    }
    if (ch === "[") {
      const link = /^\[([^\]]+)\]\(([^)\s]+)\)/.exec(text.slice(i));
      if (link) {
        out += inline(link[1]!) + (/^https?:/.test(link[2]!) ? ` (${escape(link[2]!)})` : "");
        i += link[0].length;
        continue;
      }
    }
    const strong = /^\*\*(\S(?:.*?\S)?)\*\*/.exec(text.slice(i));
    if (strong) {
      out += `\\fB${inline(strong[1]!)}\\fR`;
      i += strong[0].length;
      continue;
    }
    const em = /^\*([^*\s](?:[^*]*?[^*\s])?)\*/.exec(text.slice(i));
    if (em && (i === 0 || !/\w/.test(text[i - 1]!))) {
      out += `\\fI${inline(em[1]!)}\\fR`;
      i += em[0].length;
      continue;
    }
    out += escape(ch);
    i++;
  }
  return out;
}

/** A heading's text as a macro's argument: without fonts or markup, escaped, `"` as `\(dq`. */
const plain = (text: string): string => escape(text.replace(/\[([^\]]+)\]\([^)]*\)/g, "$1").replace(/[`*]/g, "")).replace(/"/g, "\\(dq");

/** An .SH title: in capitals, as man pages have them, but what is code keeps its case (`start-on`). */
const title = (text: string): string => plain(text.split(/(`[^`]*`)/).map((part, i) => (i % 2 === 1 ? part : part.toUpperCase())).join(""));

/** A line of text as roff input: one starting with `.` or `'` would be a request. */
const textLine = (roff: string): string => (/^[.']/.test(roff) ? `\\&${roff}` : roff);

export interface RenderOptions {
  /** Markdown heading level that becomes `.SH` (the next one `.SS`; deeper ones a bold line with the text under it indented). */
  top: number;
}

/** Blocks as roff; headings above `top` are left out (the page's own title). */
export function render(list: readonly Block[], options: RenderOptions): string {
  const out: string[] = [];
  let indented = false; // under a heading deeper than .SS
  const close = (): void => {
    if (indented) out.push(".RE");
    indented = false;
  };
  for (const block of list) {
    if (block.kind === "heading") {
      if (block.level < options.top) continue;
      close();
      if (block.level === options.top) out.push(`.SH "${title(block.text)}"`);
      else if (block.level === options.top + 1) out.push(`.SS "${plain(block.text)}"`);
      else {
        out.push(".PP", textLine(`\\fB${inline(block.text).replace(/\\f[BIR]/g, "")}\\fR`), ".RS 4");
        indented = true;
      }
      continue;
    }
    out.push(...renderBlock(block));
  }
  close();
  return `${out.join("\n")}\n`;
}

function renderBlock(block: Block): string[] {
  switch (block.kind) {
    case "heading":
      return [".PP", textLine(`\\fB${inline(block.text)}\\fR`)];
    case "paragraph":
      return [".PP", textLine(inline(block.text))];
    case "code":
      return [".PP", ".RS 4", ".nf", ...block.lines.map((l) => textLine(escape(l))), ".fi", ".RE"];
    case "table": {
      // A row is a tagged paragraph: its first cell the tag, each other cell a line, named by its column when there are several.
      const named = block.header.length > 2;
      const out: string[] = [];
      for (const row of block.rows) {
        out.push(".TP", textLine(inline(row[0] ?? "")));
        const lines = row
          .slice(1)
          .map((cell, c) => ({ cell, head: block.header[c + 1] ?? "" }))
          .filter(({ cell }) => cell !== "")
          .map(({ cell, head }) => textLine(named && head !== "" ? `${inline(head)}: ${inline(cell)}` : inline(cell)));
        out.push(...lines.flatMap((l, k) => (k === 0 ? [l] : [".br", l])));
      }
      return out;
    }
    case "list": {
      const out: string[] = [];
      block.items.forEach((item, n) => {
        const tag = block.ordered ? `${n + 1}.` : "\\(bu";
        const [first, ...rest] = item.blocks;
        out.push(`.IP ${tag} 4`);
        if (first?.kind === "paragraph") out.push(textLine(inline(first.text)));
        else if (first !== undefined) rest.unshift(first);
        for (const inner of rest) {
          if (inner.kind === "paragraph") out.push(".IP", textLine(inline(inner.text)));
          else out.push(".RS 4", ...renderBlock(inner).map((l) => (l === ".PP" ? ".sp" : l)), ".RE");
        }
      });
      return out;
    }
  }
}
