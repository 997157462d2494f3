// Finds the TypeScript blocks of the READMEs and docs that a reader would copy: every ```ts block that is not
// marked as a fragment. A fragment is marked by a `<!-- fragment -->` line right above its fence, or by a first
// line starting with `// fragment`; anything else must compile as it stands, imports included.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const FENCE = /^(\s*)```(ts|typescript)\s*$/;
const FRAGMENT_MARK = /^\s*<!--\s*fragment\b.*-->\s*$/;
const FRAGMENT_FIRST_LINE = /^\s*\/\/\s*fragment\b/;

/** The Markdown files whose code a user reads: each package's README, the root README and everything in docs/. */
export function documentedFiles(root) {
  const packages = readdirSync(join(root, 'packages'))
    .map((name) => join(root, 'packages', name, 'README.md'))
    .filter((file) => existsSync(file));
  return [join(root, 'README.md'), ...packages, ...markdownUnder(join(root, 'docs'))].map((file) => relative(root, file));
}

/** `{ source, line, code, fragment }` per ts block; `line` is the 1-based line of the block's first code line. */
export function tsBlocks(root, source) {
  const lines = readFileSync(join(root, source), 'utf8').split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const end = lines.findIndex((line, j) => j > i && line.trim() === '```');
    if (end === -1) throw new Error(`${source}:${i + 1}: ts block without a closing fence`);
    const code = lines.slice(i + 1, end).map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)));
    const above = lines.slice(0, i).findLast((line) => line.trim() !== '');
    const fragment = (above !== undefined && FRAGMENT_MARK.test(above)) || FRAGMENT_FIRST_LINE.test(code[0] ?? '');
    blocks.push({ source, line: i + 2, code: code.join('\n') + '\n', fragment });
    i = end;
  }
  return blocks;
}

function markdownUnder(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownUnder(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}
