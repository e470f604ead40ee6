// Templates and their instances. A service file whose name ends in `@` (`getty@`) is a
// template: it never runs itself, it stands for the services `getty@tty1`,
// `getty@ttyS0`…, each made from its definition with the argument (`tty1`) in the
// environment as INSTANCE and in place of `${INSTANCE}` in the keys that name words,
// places and accounts. Commands are left as written: they expand `${INSTANCE}` from the
// environment at the spawn, as any variable (src/config/argv.ts). The compiler makes the instances the
// source files name; the engine makes those named only at run time (`tend start
// getty@tty3`) and those an event makes (`instance = KEY`), all with `instanceOf`.
//
// A service with `instance = KEY` that is no template (`mount`) makes instances from
// events only (`mount@/dev/sdb1`): its value may be anything an event carries, so it
// replaces nothing in their definition; it is in their environment all the same.

import { nameRecord } from "../records.js";
import type { ServiceDef } from "./service.js";
import { SERVICE_NAME } from "./values.js";

/** A template's name: a service name and `@`. */
export const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}@$/;
/**
 * An instance's argument, after its template's `@`: it is put into paths, user names
 * and words, so it holds no '/', no space, no quote, no `$`, no ':' (a separator of
 * PATH and of the directories' variables) and no control character, and does not
 * start with '.' or '-' (never `..`, never an option). With the template's 101
 * characters it stays far under the keeper's 255 bytes.
 */
export const INSTANCE_ARGUMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$/;
/** The text a template's keys are given the argument with. */
export const ARGUMENT_VARIABLE = "INSTANCE";
const PLACEHOLDER = "${INSTANCE}";

export const isTemplateName = (name: string): boolean => name.endsWith("@");
export const isTemplateDef = (def: ServiceDef): boolean => isTemplateName(def.name);

/** A name a compiled database may hold: a service's, a template's, or an instance's of a template by name. */
export const isCompiledName = (name: string): boolean => SERVICE_NAME.test(name) || TEMPLATE_NAME.test(name) || splitInstanceName(name) !== null;

/** `getty@tty1` → `getty@` and `tty1`; null when the name is not that of an instance of a template by name. */
export function splitInstanceName(name: string): { template: string; argument: string } | null {
  const at = name.indexOf("@");
  if (at < 0) return null;
  const template = name.slice(0, at + 1);
  const argument = name.slice(at + 1);
  return TEMPLATE_NAME.test(template) && INSTANCE_ARGUMENT.test(argument) ? { template, argument } : null;
}

/** Why `argument` cannot follow a template's `@`, in words; null when it can. */
export function argumentProblem(argument: string): string | null {
  if (INSTANCE_ARGUMENT.test(argument)) return null;
  if (argument === "") return "an instance needs an argument after the '@'";
  if (argument.includes("${")) return `'${argument}' is no instance argument: references are the same for every instance, so '\${INSTANCE}' cannot be used in them`;
  return `'${argument}' is no instance argument: use letters, digits, '.', '_', '+' and '-', starting with a letter or digit, at most 100 characters`;
}

/** Does a template's value use the argument? (Checks that need the argument are made on each instance.) */
export const usesArgument = (text: string | null): boolean => text !== null && text.includes(PLACEHOLDER);

/** A template's value with `${INSTANCE}` made valid, for checking its syntax before any instance exists. */
export const withSampleArgument = (text: string): string => text.replaceAll(PLACEHOLDER, "x");

/** The name of `template`'s instance for `argument`: `getty@` + `tty1`, or `mount` + `@` + `/dev/sdb1`. */
export const instanceName = (template: string, argument: string): string => (isTemplateName(template) ? `${template}${argument}` : `${template}@${argument}`);

/** The argument of an instance of `template`: what follows the template's name (and its `@`). */
export const argumentOf = (name: string, template: string): string => name.slice(template.length + (isTemplateName(template) ? 0 : 1));

/**
 * The definition of `template`'s instance for `argument`: the template's, under the
 * instance's name, with INSTANCE (and the `instance` KEY) set in its environment and,
 * for a template by name, `${INSTANCE}` replaced in every value that names a word, a
 * place or an account. The one place an instance's definition is made.
 */
export function instanceOf(template: ServiceDef, argument: string): ServiceDef {
  const env = Object.assign(nameRecord<string>(), template.env);
  if (!isTemplateDef(template)) {
    env[ARGUMENT_VARIABLE] = argument;
    if (template.instance !== null) env[template.instance] = argument;
    return { ...template, name: instanceName(template.name, argument), template: template.name, env };
  }
  const put = (text: string): string => text.replaceAll(PLACEHOLDER, argument);
  for (const [name, value] of Object.entries(env)) env[name] = put(value);
  env[ARGUMENT_VARIABLE] = argument;
  if (template.instance !== null) env[template.instance] = argument;
  return {
    ...template,
    name: instanceName(template.name, argument),
    template: template.name,
    description: put(template.description),
    user: template.user === null ? null : put(template.user),
    group: template.group === null ? null : put(template.group),
    env,
    envFiles: template.envFiles.map((f) => ({ ...f, path: put(f.path) })),
    cwd: template.cwd === null ? null : put(template.cwd),
    pidFile: template.pidFile === null ? null : put(template.pidFile),
    directories: Object.fromEntries(Object.entries(template.directories).map(([kind, d]) => [kind, { ...d, names: d.names.map(put) }])),
    ready: template.ready.kind === "unix" || template.ready.kind === "unix-dgram" ? { kind: template.ready.kind, path: put(template.ready.path) } : template.ready,
  };
}
