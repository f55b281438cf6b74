import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * What axe-core leaves out (WCAG 2.2 §1.4.11 non-text contrast, issue 8): each visible form field's
 * border, and its focus ring, at 3:1 or more against the background behind the field. Each field is
 * focused in turn (as a keyboard would), then the focus goes back where it was.
 */
const NON_TEXT_CONTRAST = String.raw`(() => {
  const rgba = (css) => {
    const [r, g, b, a] = (css.match(/[\d.]+/g) || []).map(Number);
    return { r, g, b, a: a === undefined ? 1 : a };
  };
  const luminance = ({ r, g, b }) => {
    const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const behind = (element) => {
    for (let e = element.parentElement; e; e = e.parentElement) {
      const colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour.a > 0) return colour;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : e.name ? '[name="' + e.name + '"]' : '');
  const fields = [...document.querySelectorAll(
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not(:disabled), select:not(:disabled), textarea:not(:disabled)',
  )].filter((e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
  const before = document.activeElement;
  const problems = [];
  for (const field of fields) {
    const back = behind(field);
    const style = getComputedStyle(field);
    const border = ratio(rgba(style.borderTopColor), back);
    if (parseFloat(style.borderTopWidth) > 0 && border < 3)
      problems.push('field-border-contrast: ' + name(field) + ' border ' + border.toFixed(2) + ':1');
    field.focus({ preventScroll: true });
    const focused = getComputedStyle(field);
    const ring = focused.outlineStyle === 'none' || parseFloat(focused.outlineWidth) === 0
      ? 0
      : ratio(rgba(focused.outlineColor), back);
    if (ring < 3) problems.push('focus-ring-contrast: ' + name(field) + ' focus ring ' + ring.toFixed(2) + ':1');
  }
  if (before && before !== document.body && before.focus) before.focus({ preventScroll: true });
  else if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  return problems;
})()`;

/**
 * Runs axe-core (WCAG 2.1 A/AA rules) in the page, and the non-text contrast check of form fields
 * and their focus ring; returns the serious and critical violations.
 */
export async function audit(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const violations = (await page.evaluate(
    `axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }).then((r) => r.violations)`,
  )) as Violation[];
  const found = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  return [...found, ...((await page.evaluate(NON_TEXT_CONTRAST)) as string[])];
}
