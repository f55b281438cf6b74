/**
 * The downloaded recovery codes' file name, naming whose codes they are: someone with accounts in
 * two organizations (or two addresses) can tell the files apart. Only characters every file system
 * takes are kept.
 */
export function codesFileName(owner: { organizationSlug: string; email: string }): string {
  const safe = (text: string) => text.toLowerCase().replace(/[^a-z0-9@._-]+/g, '-');
  return `twofold-recovery-codes-${safe(owner.organizationSlug)}-${safe(owner.email)}.txt`;
}
