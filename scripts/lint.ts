/**
 * Project lint: the rules of STYLE.md that a machine can hold. Exits non-zero on any problem.
 * - source files stay under 400 lines (a "size:" comment on line 1 explains an exception)
 * - no focused tests (.only)
 * - process.env is read only in src/config/ (the CLI's process adapter hands it over whole)
 * - no console.* in src (logs go through pino)
 * - views: no inline scripts or styles (the CSP forbids them), unescaped output only for
 *   trusted partials, and every POST form carries the CSRF token
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const problems: string[] = [];

function walk(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    return statSync(path.join(root, rel)).isDirectory() ? walk(rel) : [rel];
  });
}

const sources = walk('src').filter((f) => f.endsWith('.ts'));
const tests = [...walk('test'), ...walk('bench'), ...walk('scripts')].filter((f) => f.endsWith('.ts'));
const views = walk('views').filter((f) => f.endsWith('.ejs'));

for (const file of [...sources, ...tests]) {
  const text = readFileSync(path.join(root, file), 'utf8');
  const lines = text.split('\n');
  if (lines.length > 400 && !lines[0]!.includes('size:')) problems.push(`${file}: ${lines.length} lines (cap 400)`);
  if (/\b(it|test|describe)\.only\(/.test(text)) problems.push(`${file}: focused test (.only)`);
}

for (const file of sources) {
  const text = readFileSync(path.join(root, file), 'utf8');
  if (!file.startsWith(path.join('src', 'config')) && /process\.env\./.test(text))
    problems.push(`${file}: reads process.env outside src/config`);
  if (/\bconsole\.(log|error|warn|info|debug)\(/.test(text))
    problems.push(`${file}: console.* in src (use the logger)`);
}

// Raw output only for partials, the layout body, the provider's logout form and the server-made QR SVG.
const TRUSTED_RAW = /<%-\s*(await include\(|it\.body\b|it\.form\b|it\.qrSvg\b)/;
for (const file of views) {
  const text = readFileSync(path.join(root, file), 'utf8');
  if (/<script(?![^>]*\bsrc=)/i.test(text)) problems.push(`${file}: inline <script>`);
  if (/\sstyle="/i.test(text) || /<style/i.test(text)) problems.push(`${file}: inline style`);
  for (const match of text.matchAll(/<%-[^%]*%>/g)) {
    if (!TRUSTED_RAW.test(match[0])) problems.push(`${file}: unescaped output ${match[0]}`);
  }
  for (const form of text.matchAll(/<form[^>]*method="post"[^>]*>([\s\S]*?)<\/form>/gi)) {
    if (!form[1]!.includes('name="_csrf"')) problems.push(`${file}: POST form without _csrf`);
  }
}

const checked = sources.length + tests.length + views.length;
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\nlint: ${problems.length} problem(s) in ${checked} files\n`);
  process.exit(1);
}
process.stdout.write(`lint: ${checked} files checked, no problems\n`);
