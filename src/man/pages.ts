// The man pages, made by the build (scripts/build.mjs) into dist/man: tend(1) from the
// table of commands (src/cli/commands.ts: every command, its usage, help and options)
// with the places, exit codes and completion sections of docs/cli.md, and
// tend-service(5) from docs/service-files.md (every key). Drawn from the sources of
// the help and the docs, they cannot say otherwise. Pure: the docs' text in, pages out.

import { TABLE, type OptionName } from "../cli/commands.js";
import { words } from "../cli/help.js";
import { escape, parseMarkdown, render, type Block } from "./roff.js";

/** The widest usage the synopsis shows whole (it is not filled: a longer one would run past the page). */
const SYNOPSIS_WIDTH = 64;

export interface ManSources {
  /** docs/cli.md */
  cli: string;
  /** docs/service-files.md */
  serviceFiles: string;
  version: string;
}

/** A table of contents (a list of links into the page itself) means nothing in a man page. */
const isContents = (b: Block): boolean =>
  b.kind === "list" && b.items.every((i) => i.blocks.length === 1 && i.blocks[0]!.kind === "paragraph" && /^\[[^\]]+\]\(#[^)]*\)$/.test(i.blocks[0]!.text));

/** The blocks of a markdown page, without its contents list. */
const blocksOf = (markdown: string): Block[] => parseMarkdown(markdown).filter((b) => !isContents(b));

/** What stands before the first `##` heading of a page (its title left out). */
function intro(markdown: string): Block[] {
  const all = blocksOf(markdown);
  const end = all.findIndex((b) => b.kind === "heading" && b.level === 2);
  return all.slice(0, end < 0 ? undefined : end).filter((b) => b.kind !== "heading");
}

/** The `## TITLE` section of a page, under the heading `as`. */
function section(markdown: string, heading: string, as: string): Block[] {
  const all = blocksOf(markdown);
  const start = all.findIndex((b) => b.kind === "heading" && b.level === 2 && b.text === heading);
  if (start < 0) throw new Error(`docs: no section '## ${heading}'`);
  const end = all.findIndex((b, i) => i > start && b.kind === "heading" && b.level === 2);
  return [{ kind: "heading", level: 2, text: as }, ...all.slice(start + 1, end < 0 ? undefined : end)];
}

const header = (name: string, section: number, title: string, version: string): string =>
  `.\\" Made by the build from tend's sources (src/man/pages.ts): edit those, not this.\n.TH ${name} ${section} "" "tend ${version}" "${title}"\n`;

/** A paragraph of plain text (the table's help) as roff lines; paragraphs apart by a blank line. */
const paragraphs = (text: string, between: string): string[] =>
  text.split("\n\n").flatMap((p, i) => [...(i > 0 ? [between] : []), escape(p.replace(/\s+/g, " ").trim()).replace(/^([.'])/, "\\&$1")]);

export function tendPage(sources: ManSources): string {
  const t = TABLE;
  const w = words(t);
  /** An option's value in roff: ` VALUE`, `[=VALUE]` when it is optional, nothing for a flag. */
  const valueOf = (o: OptionName): string => {
    const spec = t.option(o);
    if (spec.value === undefined) return "";
    return spec.optional === undefined ? ` \\fI${escape(spec.value)}\\fR` : `[=\\fI${escape(spec.value)}\\fR]`;
  };
  const flag = (o: OptionName): string => {
    const spec = t.option(o);
    const value = valueOf(o);
    return `${spec.short === undefined ? "" : `\\fB\\-${spec.short}\\fR, `}\\fB\\-\\-${escape(o)}\\fR${value}`;
  };
  /** `tend logs NAME [-n N] [-f]` in roff; `short`: `[OPTIONS]` for a usage too wide for a line of the synopsis. */
  const usage = (name: string, short = false): string => {
    const spec = t.commandNamed(name)!;
    const operands = spec.operands.split(" ").filter(Boolean).map((word) => word.replace(/[A-Z][A-Z=]*/g, (m) => `\\fI${escape(m)}\\fR`));
    const options = short && w.synopsis(name).length > w.synopsis(name, SYNOPSIS_WIDTH).length ? ["[\\fIOPTIONS\\fR]"] : spec.options.map((o) => {
      const s = t.option(o);
      const form = s.short === undefined ? `\\-\\-${escape(o)}` : `\\-${s.short}`;
      return `[\\fB${form}\\fR${valueOf(o)}]`;
    });
    return [`\\fBtend ${escape(name)}\\fR`, ...operands.map((o) => o.replace(/…/, "\\[u2026]")), ...options].join(" ");
  };
  const visible = Object.entries(t.COMMANDS).filter(([, c]) => c.hidden !== true);

  const out: string[] = [header("TEND", 1, "User Commands", sources.version)];
  out.push(".SH NAME", "tend \\- a service manager for Linux: dependencies decide order, events decide when");
  out.push(".SH SYNOPSIS", ".nf", `\\fBtend\\fR [\\fB\\-\\-root\\fR \\fIDIR\\fR] [\\fB\\-\\-json\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]`);
  for (const [name] of visible) out.push(usage(name, true));
  out.push(".fi");
  out.push(".SH DESCRIPTION", render(intro(sources.cli), { top: 2 }).trimEnd());
  out.push(".PP", "Every command, its options and its exit codes, with examples, are in \\fIdocs/cli.md\\fR of the package; the service files in \\fBtend\\-service\\fR(5).");
  out.push(".SH COMMANDS");
  for (const [group, title] of Object.entries(t.GROUPS)) {
    const members = visible.filter(([, c]) => c.group === group);
    if (members.length === 0) continue;
    out.push(`.SS "${escape(title.charAt(0).toUpperCase() + title.slice(1))}"`);
    for (const [name, c] of members) {
      out.push(".TP", usage(name), ...paragraphs(c.help, ".IP"));
      if (c.options.length > 0) {
        out.push(".RS");
        for (const o of c.options) out.push(".TP", flag(o), ...paragraphs(t.option(o).help, ".IP"));
        out.push(".RE");
      }
    }
  }
  out.push(".SH OPTIONS", "Every command takes these, before or after it; \\fB\\-\\-\\fR ends the options.");
  for (const o of t.GLOBAL_OPTIONS) out.push(".TP", flag(o), ...paragraphs(t.option(o).help, ".IP"));
  out.push(".PP", `An option a command does not take is a usage error; so is an unknown one (${escape(w.unknownOption("--folow", "logs"))}).`);
  out.push(".SH ENVIRONMENT");
  out.push(".TP", "\\fBTEND_ROOT\\fR", "The same as \\fB\\-\\-root\\fR when it is not given; an empty value is ignored.");
  out.push(".TP", "\\fBNO_COLOR\\fR, \\fBTERM\\fR", "Output is coloured only on a terminal, without \\fBNO_COLOR\\fR, and with a \\fBTERM\\fR other than \\fBdumb\\fR.");
  out.push(render(section(sources.cli, "Places", "Files"), { top: 2 }).trimEnd());
  out.push(render(section(sources.cli, "Exit codes", "Exit status"), { top: 2 }).trimEnd());
  out.push(render(section(sources.cli, "Shell completion", "Shell completion"), { top: 2 }).trimEnd());
  out.push(".SH SEE ALSO", "\\fBtend\\-service\\fR(5)");
  return `${out.join("\n")}\n`;
}

export function servicePage(sources: ManSources): string {
  const out: string[] = [header("TEND-SERVICE", 5, "File Formats", sources.version)];
  out.push(".SH NAME", "tend\\-service \\- tend's service files: one file per service, key = value");
  out.push(".SH SYNOPSIS", ".nf", "\\fI/etc/tend/NAME\\fR (root mode)", "\\fI$XDG_CONFIG_HOME/tend/NAME\\fR (user mode)", "\\fIDIR/etc/tend/NAME\\fR (tend \\-\\-root DIR)", ".fi");
  out.push(".SH DESCRIPTION", render(intro(sources.serviceFiles), { top: 2 }).trimEnd());
  const all = blocksOf(sources.serviceFiles);
  const first = all.findIndex((b) => b.kind === "heading" && b.level === 2);
  out.push(render(all.slice(first), { top: 2 }).trimEnd());
  out.push(".SH SEE ALSO", "\\fBtend\\fR(1)");
  return `${out.join("\n")}\n`;
}

/** The pages by file name. */
export const manPages = (sources: ManSources): Record<string, string> => ({ "tend.1": tendPage(sources), "tend-service.5": servicePage(sources) });
