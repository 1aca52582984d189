/** IP version of a run's traffic. */
export type Family = 4 | 6;
