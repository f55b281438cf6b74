/** A count of seconds as people read it: "1 second", "30 seconds" (never "1 seconds"). */
export const secondsText = (seconds: number): string => `${seconds} second${seconds === 1 ? '' : 's'}`;
