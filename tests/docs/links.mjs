// Relative links of Markdown files: `[text](target)` and `[label]: target`, outside code. A link must reach an
// existing file or folder, and its `#fragment`, when it points at Markdown, a heading there (GitHub's slugs).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const INLINE = /!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g;
const DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/;
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** Lines outside fenced code, with inline code spans blanked (their brackets are not links). */
function prose(text) {
  let fence = null;
  return text.split('\n').map((line) => {
    const open = /^\s*(`{3,}|~{3,})/.exec(line);
    if (fence) {
      if (open && open[1][0] === fence[0] && open[1].length >= fence.length) fence = null;
      return '';
    }
    if (open) {
      fence = open[1];
      return '';
    }
    return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => ' '.repeat(span.length));
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens; repeats get -1, -2... */
export function anchorsOf(text) {
  const anchors = new Set();
  const counts = new Map();
  for (const line of prose(text)) {
    const explicit = [...line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)].map((m) => m[1]);
    for (const id of explicit) anchors.add(id);
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const seen = counts.get(slug) ?? 0;
    counts.set(slug, seen + 1);
    anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
  }
  return anchors;
}

/** Every broken relative link of `file` (paths relative to `root`), as `file:line: message`. */
export function brokenLinks(root, file) {
  const text = readFileSync(join(root, file), 'utf8');
  const problems = [];
  prose(text).forEach((line, index) => {
    const targets = [...line.matchAll(INLINE)].map((m) => m[1]);
    const definition = DEFINITION.exec(line);
    if (definition) targets.push(definition[1]);
    for (const target of targets) {
      const problem = checkTarget(root, file, text, target);
      if (problem) problems.push(`${file}:${index + 1}: ${target}: ${problem}`);
    }
  });
  return problems;
}

function checkTarget(root, file, text, target) {
  if (EXTERNAL.test(target) || target.startsWith('//')) return null;
  const [rawPath, fragment] = target.split('#', 2);
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return 'is not a valid URL';
  }
  if (path.startsWith('/')) return 'is absolute: write it relative to the file, so it works on GitHub and in a clone';
  const resolved = path === '' ? join(root, file) : join(root, dirname(file), path);
  if (!existsSync(resolved)) return `no such file or folder (${relative(root, resolved)})`;
  if (!fragment) return null;
  if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) return null;
  const anchors = path === '' ? anchorsOf(text) : anchorsOf(readFileSync(resolved, 'utf8'));
  return anchors.has(decodeURIComponent(fragment)) ? null : `no heading #${fragment} in ${relative(root, resolved)}`;
}
