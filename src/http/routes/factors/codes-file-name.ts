/**
 * The downloaded recovery codes' file name, naming whose codes they are: someone with accounts in
 * two organizations (or two addresses) can tell the files apart, and the date (UTC) tells a new set
 * from an old one. Only characters every file system takes are kept.
 */
export function codesFileName(owner: { organizationSlug: string; email: string }, madeAt: number): string {
  const safe = (text: string) => text.toLowerCase().replace(/[^a-z0-9@._-]+/g, '-');
  const date = new Date(madeAt).toISOString().slice(0, 10);
  return `twofold-recovery-codes-${safe(owner.organizationSlug)}-${safe(owner.email)}-${date}.txt`;
}
