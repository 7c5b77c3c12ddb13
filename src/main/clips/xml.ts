/**
 * A small XML reader and writer for ELAN's .eaf files: elements, attributes, text, entities,
 * CDATA, comments and processing instructions. No DTDs, no namespaces beyond keeping prefixed
 * names as written, which is all an .eaf needs.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);/g, (m, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? m;
  });
}

export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function parseXml(src: string, file = 'document'): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    const line = src.slice(0, i).split('\n').length;
    throw new Error(`${file}: line ${line}: ${msg}`);
  };
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) stack[stack.length - 1].text += decodeEntities(src.slice(i, textEnd));
    if (lt < 0) break;
    i = lt;
    if (src.startsWith('<!--', i)) {
      const e = src.indexOf('-->', i);
      if (e < 0) fail('unterminated comment');
      i = e + 3;
    } else if (src.startsWith('<![CDATA[', i)) {
      const e = src.indexOf(']]>', i);
      if (e < 0) fail('unterminated CDATA');
      stack[stack.length - 1].text += src.slice(i + 9, e);
      i = e + 3;
    } else if (src.startsWith('<?', i) || src.startsWith('<!', i)) {
      const e = src.indexOf('>', i);
      if (e < 0) fail('unterminated declaration');
      i = e + 1;
    } else if (src.startsWith('</', i)) {
      const e = src.indexOf('>', i);
      if (e < 0) fail('unterminated end tag');
      const name = src.slice(i + 2, e).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`</${name}> does not close <${open?.name ?? '?'}>`);
      i = e + 1;
    } else {
      const m = /^<([A-Za-z_][\w.:-]*)/.exec(src.slice(i, i + 200));
      if (!m) fail('malformed tag');
      const el: XmlElement = { name: m![1], attrs: {}, children: [], text: '' };
      i += m![0].length;
      const attr = /\s*([A-Za-z_][\w.:-]*)\s*=\s*("([^"]*)"|'([^']*)')|\s*(\/?>)/y;
      let closed = false;
      let selfClosing = false;
      while (!closed) {
        attr.lastIndex = i;
        const a = attr.exec(src);
        if (!a) fail(`malformed attributes in <${el.name}>`);
        i = attr.lastIndex;
        if (a![5]) {
          closed = true;
          selfClosing = a![5] === '/>';
        } else el.attrs[a![1]] = decodeEntities(a![3] ?? a![4] ?? '');
      }
      stack[stack.length - 1].children.push(el);
      if (!selfClosing) stack.push(el);
    }
  }
  if (stack.length !== 1) fail(`<${stack[stack.length - 1].name}> is not closed`);
  const top = root.children[0];
  if (!top) fail('no root element');
  return top;
}

export function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c) => c.name === name);
}
export function childrenNamed(el: XmlElement, name: string): XmlElement[] {
  return el.children.filter((c) => c.name === name);
}
