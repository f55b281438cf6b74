import UAParser from 'ua-parser-js';

/**
 * Only what a product name or version is made of: the User-Agent header is written by whoever sent
 * the request, and security emails must not carry text a stranger chose (a link, "call this number").
 */
const clean = (text: string | undefined, allowed: RegExp) =>
  (text ?? '').replace(allowed, '').replace(/\s+/g, ' ').trim().slice(0, 30);
const NAME = /[^A-Za-z0-9 +-]/g;
const VERSION = /[^0-9.]/g;

/** Names as people know them where the parser's differ. */
const OS_NAMES: Record<string, string> = { 'Mac OS': 'macOS' };

/**
 * A browser as a person recognises it, from its User-Agent header: "Firefox 128 on Windows 10",
 * "Safari 17 on macOS 14.6", or "an unrecognised browser or app" (the header itself is never echoed).
 */
export function describeUserAgent(userAgent: string | null): string {
  if (!userAgent) return 'not known';
  // Browser and system only: the device and engine tables (getResult) are the costlier part.
  const parser = new UAParser(userAgent);
  const browser = parser.getBrowser();
  const os = parser.getOS();
  const name = clean(browser.name, NAME);
  if (!name) return 'an unrecognised browser or app';
  const version = clean(browser.major, VERSION);
  const osName = clean(OS_NAMES[os.name ?? ''] ?? os.name, NAME);
  const osVersion = clean(os.version, VERSION);
  const product = version ? `${name} ${version}` : name;
  if (!osName) return product;
  return `${product} on ${osVersion ? `${osName} ${osVersion}` : osName}`;
}

/** A row's title for a browser: "Firefox 128 on Windows 10", "A browser" when no header was sent. */
export function deviceName(userAgent: string | null): string {
  if (!userAgent) return 'A browser';
  const text = describeUserAgent(userAgent);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
