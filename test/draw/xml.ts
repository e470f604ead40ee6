// A strict XML well-formedness check for the SVG tend draws (no XML library is a
// dependency, and a browser renders a broken SVG as an error page): one root element,
// tags that nest and match, attributes quoted and not repeated, every `&` an entity
// XML knows, no `<` in text or values, no character XML forbids. Returns the first
// problem with its offset, or null.

const NAME = /^[A-Za-z_:][A-Za-z0-9_:.-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function wellFormed(xml: string): string | null {
  const bad = FORBIDDEN.exec(xml);
  if (bad !== null) return `a character XML forbids at ${bad.index}`;
  let i = 0;
  const open: string[] = [];
  let roots = 0;
  const checkText = (text: string, at: number): string | null => {
    for (let k = text.indexOf("&"); k >= 0; k = text.indexOf("&", k + 1)) if (!ENTITY.test(text.slice(k))) return `a bare '&' at ${at + k}`;
    return null;
  };
  if (xml.startsWith("<?xml")) {
    const end = xml.indexOf("?>");
    if (end < 0) return "an unclosed XML declaration";
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const chunk = xml.slice(i, lt < 0 ? xml.length : lt);
    if (open.length === 0 && chunk.trim() !== "") return `text outside the root element at ${i}`;
    const t = checkText(chunk, i);
    if (t !== null) return t;
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith("<!--", i)) {
      const end = xml.indexOf("-->", i + 4);
      if (end < 0) return `an unclosed comment at ${i}`;
      i = end + 3;
      continue;
    }
    if (xml.startsWith("<![CDATA[", i)) {
      if (open.length === 0) return `CDATA outside the root at ${i}`;
      const end = xml.indexOf("]]>", i);
      if (end < 0) return `an unclosed CDATA section at ${i}`;
      i = end + 3;
      continue;
    }
    if (xml[i + 1] === "/") {
      const name = NAME.exec(xml.slice(i + 2))?.[0];
      if (name === undefined) return `a bad end tag at ${i}`;
      const expected = open.pop();
      if (expected !== name) return `</${name}> at ${i} closes <${expected ?? "nothing"}>`;
      let k = i + 2 + name.length;
      while (/\s/.test(xml[k] ?? "")) k++;
      if (xml[k] !== ">") return `a bad end tag at ${i}`;
      i = k + 1;
      continue;
    }
    const name = NAME.exec(xml.slice(i + 1))?.[0];
    if (name === undefined) return `a '<' that starts no tag at ${i}`;
    if (open.length === 0 && roots++ > 0) return `a second root element at ${i}`;
    let k = i + 1 + name.length;
    const seen = new Set<string>();
    for (;;) {
      const space = k;
      while (/\s/.test(xml[k] ?? "")) k++;
      if (xml.startsWith("/>", k)) {
        k += 2;
        break;
      }
      if (xml[k] === ">") {
        open.push(name);
        k += 1;
        break;
      }
      if (k === space) return `no space before an attribute at ${k}`;
      const attr = NAME.exec(xml.slice(k))?.[0];
      if (attr === undefined) return `a bad attribute at ${k}`;
      if (seen.has(attr)) return `attribute '${attr}' twice at ${k}`;
      seen.add(attr);
      k += attr.length;
      if (xml[k] !== "=") return `attribute '${attr}' without a value at ${k}`;
      const quote = xml[k + 1];
      if (quote !== '"' && quote !== "'") return `attribute '${attr}' unquoted at ${k}`;
      const end = xml.indexOf(quote, k + 2);
      if (end < 0) return `attribute '${attr}' unclosed at ${k}`;
      const value = xml.slice(k + 2, end);
      if (value.includes("<")) return `a '<' in attribute '${attr}' at ${k}`;
      const v = checkText(value, k + 2);
      if (v !== null) return v;
      k = end + 1;
    }
    i = k;
  }
  if (open.length > 0) return `<${open.at(-1)}> is never closed`;
  if (roots === 0) return "no root element";
  return null;
}
