/** A count of seconds as people read it: "1 second", "30 seconds" (never "1 seconds"). */
export const secondsText = (seconds: number): string => `${seconds} second${seconds === 1 ? '' : 's'}`;

/** A longer span in whole minutes, rounded up ("1 minute", "15 minutes"); under a minute in seconds. */
export function minutesText(seconds: number): string {
  if (seconds < 60) return secondsText(seconds);
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
